"""The four services as separate processes, started by the runner `make run` uses
(`ciam_devtools.devstack.run`), on the test's Kafka, PostgreSQL and Redis, with the runner's
mail sink and its development client (every scope, every purpose of the catalogue), for tests
that follow a customer across every service (the data download, the erasure).

    async with running_system(kafka=..., redis=..., postgres=..., prefix=..., var=tmp) as s:
        bearer = await s.bearer(http)             # the development client's access token
        ...                                       # s.auth, s.profile, s.consent, s.notifier
    # leaving stops the runner with SIGINT; AssertionError unless it exited cleanly

Development environment (the runner's default): the session cookie is not `Secure`, so a
plain HTTP client gets it back (Chromium would keep a Secure one on 127.0.0.1 anyway).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ciam_devtools.devstack import free_port, free_ports

READY_TIMEOUT = 180.0


@dataclass(frozen=True)
class RunningSystem:
    auth: str
    profile: str
    consent: str
    notifier: str
    mail: str  # the sink's web port (ciam_devtools.testing.mail reads it)
    var: Path
    pids: list[int]

    @property
    def dev_client(self) -> dict[str, str]:
        return dict(json.loads((self.var / "dev-client.json").read_text()))

    async def bearer(
        self,
        http: httpx.AsyncClient,
        scope: str = "consent:read consent:write profile:admin notifier:admin",
    ) -> dict[str, str]:
        """The authorization header of a client-credentials token of the dev client."""
        dev = self.dev_client
        granted = await http.post(
            f"{self.auth}/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(dev["client_id"], dev["client_secret"]),
        )
        assert granted.status_code == 200, granted.text
        return {"authorization": f"Bearer {granted.json()['access_token']}"}


def four_free_ports() -> int:
    """A base port with the next three free too (the runner puts the services on base..+3)."""
    return free_ports(4)


async def _read_until_ready(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while True:
        raw = await stream.readline()
        if not raw:
            raise AssertionError("runner exited before ready:\n" + "".join(lines))
        lines.append(raw.decode())
        if lines[-1].startswith("ready:"):
            return


@asynccontextmanager
async def running_system(
    *, kafka: str, redis: str, postgres: str, prefix: str, var: Path
) -> AsyncIterator[RunningSystem]:
    from joserfc.jwk import ECKey

    base = four_free_ports()
    auth, profile, consent, notifier = (f"http://127.0.0.1:{base + i}" for i in range(4))
    mail_web_port = free_port()
    env = os.environ | {
        "CIAM_MAIL_PORT": str(free_port()),
        "CIAM_MAIL_WEB_PORT": str(mail_web_port),
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REDIS_URL": redis,
        "DATABASE_URL": postgres,
        "CIAM_ENVIRONMENT": "development",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
    }
    runner = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ciam_devtools.devstack.run", "--base-port", str(base),
        "--topic-prefix", prefix, "--db-prefix", f"sys_{uuid.uuid4().hex[:8]}_",
        "--var", str(var), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert runner.stdout is not None
    lines: list[str] = []
    drained: asyncio.Task[bytes] | None = None
    try:
        await asyncio.wait_for(_read_until_ready(runner.stdout, lines), READY_TIMEOUT)
        pids = [int(p) for p in re.findall(r"\(pid (\d+),", "".join(lines))]
        # The runner's output is read to its end; meanwhile it must not fill the pipe.
        drained = asyncio.create_task(runner.stdout.read())
        yield RunningSystem(
            auth, profile, consent, notifier, f"http://127.0.0.1:{mail_web_port}", var, pids
        )
    finally:
        if runner.returncode is None:
            runner.send_signal(signal.SIGINT)  # the runner stops its services, then itself
            try:
                await asyncio.wait_for(runner.wait(), 60)
            except TimeoutError:
                runner.kill()
                await runner.wait()
        rest = await drained if drained is not None else b""
    assert runner.returncode == 0, rest.decode()
