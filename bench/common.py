"""What the benchmarks share: percentiles, waiting for arrivals, running on real servers."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ciam_devtools.testing.plugin import Infrastructure

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def wait_for(predicate: Callable[[], bool], timeout: float) -> None:
    """Poll a cheap in-memory condition; TimeoutError when it does not hold in time."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("not everything arrived")
        await asyncio.sleep(0.002)


def write_result(name: str, result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")


def run(
    main: Callable[[argparse.Namespace, str, str, str], Awaitable[dict[str, Any]]],
    args: argparse.Namespace,
) -> None:
    """Run `main(args, kafka, redis, postgres)` on real servers and print its result. The
    servers start synchronously, before the event loop runs."""
    infra = Infrastructure()
    try:
        outcome = asyncio.run(main(args, infra.kafka, infra.redis, infra.postgres))
    finally:
        infra.close()
    print(json.dumps(outcome, indent=2))


def sample(pid: int | None, output: str) -> subprocess.Popen[bytes]:
    """py-spy on the service (raw stacks; --nonblocking: the service runs on) until SIGINT."""
    py_spy = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "py-spy"
    command = [str(py_spy), "record", "-p", str(pid), "-r", "100", "--nonblocking", "-f", "raw"]
    return subprocess.Popen([*command, "-o", output], stdout=subprocess.DEVNULL)
