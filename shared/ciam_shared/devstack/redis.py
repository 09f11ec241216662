from __future__ import annotations

from pathlib import Path

from ciam_shared.devstack.process import (
    ManagedProcess,
    free_port,
    require_free,
    tcp_ready,
    which_or_fail,
)

INSTALL_HINT = "Install it with `apt-get install redis-server` (Debian's package)."
CANDIDATES = ["redis-server", "/usr/bin/redis-server"]


def start_redis(workdir: Path, port: int | None = None) -> tuple[ManagedProcess, str]:
    binary = which_or_fail(CANDIDATES, "redis-server", INSTALL_HINT)
    port = port or free_port()
    require_free(port, "Redis", "CIAM_REDIS_PORT")
    workdir.mkdir(parents=True, exist_ok=True)
    proc = ManagedProcess(
        "redis",
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--protected-mode",
            "yes",
        ],
        log_path=workdir / "redis.log",
    ).start()
    proc.wait_until(tcp_ready(port), timeout=20, what=f"port {port}")
    return proc, f"redis://127.0.0.1:{port}/0"
