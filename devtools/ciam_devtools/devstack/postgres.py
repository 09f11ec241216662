"""PostgreSQL clusters from Debian's package (initdb + postgres), as child processes.

`start_postgres`: a throwaway cluster for tests, durability traded for speed (fsync off); it
lives as long as the test session. `start_kept_cluster`: the local runner's cluster in var/,
made once by initdb and reused by every later start, with PostgreSQL's default durability
(fsync and synchronous commit on), so neither a crash of the runner nor of the machine loses
a committed account or consent. PostgreSQL refuses to run as root, so as root a cluster runs
as the `postgres` system user (created by Debian's package) in a directory that user owns.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from ciam_devtools.devstack.errors import DevStackError
from ciam_devtools.devstack.process import (
    ManagedProcess,
    free_port,
    ready_timeout,
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
            "-c",
            "jit=off",  # see start_kept_cluster
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
        timeout=ready_timeout(),
        what=f"PostgreSQL connections on 127.0.0.1:{port}",
    )
    return proc, admin_url(port), data


def admin_url(port: int) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"


def start_kept_cluster(
    workdir: Path, port: int, say: Callable[[str], None] = print
) -> tuple[ManagedProcess, str]:
    """Start the cluster in `workdir/data`, running initdb first when there is none; returns
    the process and an admin URL (asyncpg). `say` reports each step in one line."""
    initdb, postgres = _bin("initdb"), _bin("postgres")
    user = check_kept_cluster(workdir)
    require_free(port, "PostgreSQL", "CIAM_POSTGRES_PORT")
    cluster = workdir / "data"
    if not (cluster / "PG_VERSION").exists():
        say(f"postgres: initdb {cluster} (first start, kept for the next ones) ...")
        if cluster.exists():  # an initdb interrupted earlier: start over
            shutil.rmtree(cluster)
        cluster.mkdir(mode=0o700)
        if user is not None:
            shutil.chown(cluster, user, user)
        init = subprocess.run(
            [initdb, "-D", str(cluster), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--no-instructions"],
            capture_output=True, text=True, user=user, check=False, cwd=workdir,
        )  # fmt: skip
        if init.returncode != 0:
            shutil.rmtree(cluster, ignore_errors=True)
            raise DevStackError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    say(f"postgres: starting on 127.0.0.1:{port} (data {cluster}) ...")
    proc = ManagedProcess(
        "postgres",
        [
            postgres,
            "-D",
            str(cluster),
            "-p",
            str(port),
            # No Unix socket: its path (in a deep var/) may pass the kernel's 107 bytes.
            "-c",
            "unix_socket_directories=",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=200",
            # A JIT compilation of a catalogue query took seconds on a loaded machine, the
            # services' first connections among them (asyncpg's type introspection); a local
            # database of this size gains nothing from it.
            "-c",
            "jit=off",
        ],
        log_path=workdir / "postgres.log",
        user=user,
        cwd=workdir,
        # Fast shutdown: ends the sessions and checkpoints; SIGTERM (smart) would wait for
        # clients that a killed service may leave behind.
        stop_signal=signal.SIGINT,
    ).start()
    pg_isready = _bin("pg_isready")
    proc.wait_until(
        lambda: (
            subprocess.run(
                [pg_isready, "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
            ).returncode
            == 0
        ),
        what=f"PostgreSQL connections on 127.0.0.1:{port}",
    )
    return proc, admin_url(port)


def check_kept_cluster(workdir: Path) -> str | None:
    """What start_kept_cluster needs, checked before anything starts: the binaries and a
    directory the server's user can reach. Returns that user (None: this one)."""
    _bin("initdb"), _bin("postgres")
    user = _run_as()
    workdir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        _reachable_by(user, workdir)
    return user


def _reachable_by(user: str, directory: Path) -> None:
    """As root the cluster's files belong to `user`, who must be able to reach them."""
    directory.chmod(0o700)
    shutil.chown(directory, user, user)
    probe = subprocess.run(["test", "-w", str(directory)], user=user, check=False)
    if probe.returncode != 0:
        raise DevStackError(
            f"the `{user}` user cannot reach {directory} (a parent directory is closed to it); "
            f"open the parents (`chmod o+x`) or run `make run` as an ordinary user"
        )


def create_databases(admin: str, names: Iterable[str]) -> list[str]:
    """Create each database that does not exist yet; returns the names it created."""
    return asyncio.run(_create_databases(admin, list(names)))


async def _create_databases(admin: str, names: list[str]) -> list[str]:
    import asyncpg

    connection = await asyncpg.connect(admin.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        existing = {r["datname"] for r in await connection.fetch("SELECT datname FROM pg_database")}
        created = [name for name in names if name not in existing]
        for name in created:
            await connection.execute(f'CREATE DATABASE "{name}"')
        return created
    finally:
        await connection.close()
