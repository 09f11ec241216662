"""Where a password login's (or a refresh's) time goes in the auth service: py-spy on the
service under that load.

    .venv/bin/python bench/login_profile.py [--figure login|refresh] [--seconds 15]
        [--out bench/results/login.folded]

The service as `bench/auth.py` runs it (one uvicorn worker pinned to CPU 0, servers and load
on CPU 1), 16 concurrent logins (each a new browser; or 16 refresh chains driven by wrk, each
refresh rotating) for the window, py-spy sampling the
service meanwhile (`py-spy record --threads --idle`). Prints the main thread's
(the event loop's) heaviest frames, inclusive and by leaf, as shares of its samples; the
folded stacks go to `--out` for a flame graph. A diagnosis tool: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import secrets
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from auth import SERVICE_CPU, ServiceCpu, logins, pin_to_load_cpu, refresh_chains, wrk_refresh
from common import run

from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess


def summarise(folded: Path, top: int) -> dict[str, Any]:
    """Per thread: samples; for the thread with most Python frames under uvicorn (the loop),
    the heaviest functions inclusive and as the leaf."""
    threads: dict[str, list[tuple[list[str], int]]] = collections.defaultdict(list)
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        threads[frames[0]].append((frames[1:], int(count)))
    totals = {name: sum(n for _, n in stacks) for name, stacks in threads.items()}
    loop = max(
        threads,
        key=lambda name: sum(n for f, n in threads[name] if any("uvicorn" in x for x in f)),
    )
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    for frames, n in threads[loop]:
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            leaf[frames[-1]] += n
    total = totals[loop]
    return {
        "threads": totals,
        "loop_thread": loop,
        "inclusive": [(f, round(n / total, 3)) for f, n in inclusive.most_common(top)],
        "leaf": [(f, round(n / total, 3)) for f, n in leaf.most_common(top)],
    }


async def main(args: argparse.Namespace, kafka: str, redis: str, postgres: str) -> dict[str, Any]:
    factory = DatabaseFactory(postgres)
    db_url = await factory.create("ciam_auth.migrations")
    env = {
        "AUTH_DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": f"pbench{secrets.token_hex(3)}.",
        "CIAM_ENVIRONMENT": "test",
        "AUTH_MIGRATE_ON_START": "false",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "AUTH_LOG_LEVEL": "WARNING",
        "AUTH_THROTTLE_CLIENT_LIMIT": str(10**9),
        "AUTH_THROTTLE_REQUESTS_PER_CLIENT": str(10**9),
        "AUTH_THROTTLE_PAIR_FREE": str(10**9),
        "AUTH_THROTTLE_ACCOUNT_FREE": str(10**9),
    }
    service = ServiceProcess("auth", env, Path(tempfile.mkdtemp()))
    service.env |= {"AUTH_ISSUER": service.url}
    if shutil.which("taskset"):
        service.command_prefix = ["taskset", "-c", str(SERVICE_CPU)]
    service.start()
    ServiceCpu.pid = service.proc.proc.pid
    py_spy = str(Path(sys.executable).parent / "py-spy")
    try:
        prepare = await _load(args, service, db_url, redis)
        await (await prepare())(3.0)  # warm-up
        load = await prepare()
        spy = await asyncio.create_subprocess_exec(
            py_spy, "record", "--pid", str(service.proc.proc.pid), "--threads", "--idle",
             "--format", "raw", "--rate", "250", "--duration", str(int(args.seconds)),
             "--output", str(args.out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        figures = await load(args.seconds)
        await asyncio.wait_for(spy.wait(), timeout=60)
    finally:
        service.stop()
        await factory.drop(db_url)
    return figures | summarise(args.out, args.top)


Load = Callable[[float], Awaitable[dict[str, Any]]]


async def _load(
    args: argparse.Namespace, service: ServiceProcess, db_url: str, redis: str
) -> Callable[[], Awaitable[Load]]:
    """What makes one window of load, made before py-spy starts (a refresh window's chains
    are sign-ins and authorization codes: not what is profiled)."""
    if args.figure == "login":

        async def sign_ins(seconds: float) -> dict[str, Any]:
            window = argparse.Namespace(seconds=seconds, concurrency=16)
            return await logins(service.url, db_url, window)

        async def same() -> Load:
            return sign_ins

        return same
    app: dict[str, Any] = {}

    async def chains() -> Load:
        # New chains for each window: a chain's first token is spent by the first window.
        made, tokens = await refresh_chains(service.url, service.env, redis, 16, app or None)
        app.update(made)
        auth = base64.b64encode(f"{made['client_id']}:{made['client_secret']}".encode()).decode()

        async def rotations(seconds: float) -> dict[str, Any]:
            url = f"{service.url}/token"
            return await asyncio.to_thread(
                wrk_refresh, url, tokens, f"Basic {auth}", seconds=seconds
            )

        return rotations

    return chains


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--figure", choices=["login", "refresh"], default="login")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "login.folded.tmp"
    )
    arguments = parser.parse_args()
    pin_to_load_cpu()
    run(main, arguments)
