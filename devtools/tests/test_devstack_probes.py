"""A start-up time-out names what it waited for: the service, and which of its dependencies
its /readyz reported as failing."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from ciam_devtools.devstack import DevStackError, ManagedProcess
from ciam_devtools.devstack.probes import readyz

NOT_READY = {"status": 503, "checks": {"database": "failed: TimeoutError()", "redis": "ok"}}


class NotReady(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(NOT_READY).encode()
        self.send_response(503)
        self.send_header("content-type", "application/problem+json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def not_ready() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), NotReady)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_probe_names_the_failing_dependency(not_ready: str) -> None:
    with pytest.raises(RuntimeError, match=r"/readyz 503: database failed: TimeoutError\(\)"):
        readyz(not_ready)


def test_a_time_out_names_the_service_what_it_waited_for_and_the_last_answer(
    not_ready: str, tmp_path: Path
) -> None:
    sleeper = ManagedProcess(
        "consent",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        log_path=tmp_path / "consent.log",
    ).start()
    try:
        with pytest.raises(DevStackError) as failed:
            sleeper.wait_until(lambda: readyz(not_ready), timeout=1, what=f"{not_ready}/readyz")
    finally:
        sleeper.stop()
    message = str(failed.value)
    assert message.startswith(f"consent not ready after 1s: waited for {not_ready}/readyz")
    assert "database failed: TimeoutError()" in message
    assert "CIAM_READY_TIMEOUT" in message
