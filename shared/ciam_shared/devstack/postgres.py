"""A throwaway PostgreSQL cluster (initdb + postgres from Debian's package) for tests.

Durability is traded for speed (fsync off): the cluster lives as long as the test session.
PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user
(created by Debian's package) in a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ciam_shared.devstack.errors import DevStackError
from ciam_shared.devstack.process import (
    ManagedProcess,
    free_port,
    require_free,
    which_or_fail,
)

INSTALL_HINT = "Install it with `apt-get install postgresql` (Debian's package)."


SEARCH_GLOB = "/usr/lib/postgresql/*/bin/{name}"


def _bin(name: str) -> str:
    versioned = sorted(glob.glob(SEARCH_GLOB.format(name=name)), reverse=True)
    return which_or_fail([name, *versioned], f"PostgreSQL's {name}", INSTALL_HINT)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise DevStackError(
            "running as root, PostgreSQL needs the `postgres` system user; "
            "`apt-get install postgresql` creates it."
        ) from None
    return "postgres"


def start_postgres(workdir: Path, port: int | None = None) -> tuple[ManagedProcess, str, Path]:
    """Start a cluster; returns the process, an admin URL (asyncpg) and the data directory."""
    initdb, postgres = _bin("initdb"), _bin("postgres")
    user = _run_as()
    port = port or free_port()
    require_free(port, "PostgreSQL", "CIAM_POSTGRES_PORT")
    workdir.mkdir(parents=True, exist_ok=True)
    # Outside the (possibly root-only) work tree, so the postgres user can reach it.
    data = Path(tempfile.mkdtemp(prefix="ciam-pg-"))
    if user is not None:
        shutil.chown(data, user, user)
    cluster, sockets = data / "cluster", data / "sock"
    for d in (cluster, sockets):
        d.mkdir()
        if user is not None:
            shutil.chown(d, user, user)
    init = subprocess.run(
        [
            initdb,
            "-D",
            str(cluster),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ],
        capture_output=True,
        text=True,
        user=user,
        check=False,
        cwd=data,
    )
    if init.returncode != 0:
        raise DevStackError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    proc = ManagedProcess(
        "postgres",
        [
            postgres,
            "-D",
            str(cluster),
            "-p",
            str(port),
            "-k",
            str(sockets),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ],
        log_path=workdir / "postgres.log",
        user=user,
        cwd=data,
    ).start()
    pg_isready = _bin("pg_isready")
    proc.wait_until(
        lambda: (
            subprocess.run(
                [pg_isready, "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
            ).returncode
            == 0
        ),
        timeout=60,
        what=f"connections on port {port}",
    )
    return proc, f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres", data
