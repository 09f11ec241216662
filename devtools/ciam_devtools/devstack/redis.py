"""Redis from Debian's package. The tests' server keeps nothing; the runner's (`kept=True`)
keeps an append-only file in its directory (fsync every second), so sessions and rate limits
survive a restart of `make run`."""

from __future__ import annotations

from pathlib import Path

from ciam_devtools.devstack.process import (
    ManagedProcess,
    free_port,
    ready_timeout,
    require_free,
    tcp_ready,
    which_or_fail,
)

INSTALL_HINT = "Install it with `apt-get install redis-server` (Debian's package)."
CANDIDATES = ["redis-server", "/usr/bin/redis-server"]


def start_redis(
    workdir: Path, port: int | None = None, *, kept: bool = False
) -> tuple[ManagedProcess, str]:
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
            "yes" if kept else "no",
            "--appendfsync",
            "everysec",
            "--dir",
            str(workdir),
            "--protected-mode",
            "yes",
        ],
        log_path=workdir / "redis.log",
    ).start()
    proc.wait_until(tcp_ready(port), timeout=ready_timeout(), what=f"Redis on 127.0.0.1:{port}")
    return proc, f"redis://127.0.0.1:{port}/0"
