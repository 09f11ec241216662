"""How long `make run` takes from start to ready, per component.

    make bench-startup            -> bench/results/startup.json
    python bench/startup.py 3     (runs; default 3)

Starts the runner (`python -m ciam_devtools.devstack.run`) as `make run` does, with its own
PostgreSQL, Kafka and Redis, in a fresh state directory on free ports: the first run is the
cold start of a fresh clone (initdb, Kafka's storage format, migrations), each later run a
restart on the state the first one kept. The figures are the runner's own lines: each
broker's time to ready, each service's time from its process start (after the brokers are
ready) to its first 200 on /readyz, and the total from the runner's start to the "ready:" line.
Medians over the restarts; nothing is asserted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ciam_devtools.devstack import free_ports

RESULTS = Path(__file__).parent / "results" / "startup.json"
COMPONENT = re.compile(r"^(\w+): ready (?:on )?\S+.*\((?:pid \d+, )?([\d.]+) s\)", re.M)
TOTAL = re.compile(r"^ready: .*\(([\d.]+) s\)$", re.M)


def one_run(var: Path, base: int) -> dict[str, float]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL", "CIAM_ENVIRONMENT"}
    } | {
        "CIAM_BASE_PORT": str(base),
        "CIAM_POSTGRES_PORT": str(base + 4),
        "CIAM_KAFKA_PORT": str(base + 5),
        "CIAM_KAFKA_CONTROLLER_PORT": str(base + 6),
        "CIAM_REDIS_PORT": str(base + 7),
    }
    began = time.monotonic()
    runner = subprocess.Popen(
        [sys.executable, "-m", "ciam_devtools.devstack.run", "--var", str(var)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert runner.stdout is not None
    lines: list[str] = []
    try:
        for line in runner.stdout:
            lines.append(line)
            print("   ", line, end="", flush=True)
            if line.startswith("ready:"):
                break
        else:
            raise RuntimeError("the runner exited before ready:\n" + "".join(lines))
        wall = time.monotonic() - began
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=120)
    text = "".join(lines)
    figures: dict[str, Any] = {name: float(s) for name, s in COMPONENT.findall(text)}
    total = TOTAL.search(text)
    figures["total"] = float(total.group(1)) if total else wall
    figures["wall_with_interpreter"] = round(wall, 2)
    figures["phases"] = start_phases(var / "logs")
    return figures


def start_phases(logs: Path) -> dict[str, dict[str, float]]:
    """Each service's own account of its last start (ciam_shared.service.StartTimes): the
    seconds each step took, from the "started in" line of its log."""
    phases: dict[str, dict[str, float]] = {}
    for log in sorted(logs.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and "start_phases" in entry:
                phases[log.stem] = entry["start_phases"] | {"total": entry["start_seconds"]}
    return phases


def main(runs: int) -> dict[str, object]:
    base = free_ports(8)
    with tempfile.TemporaryDirectory(prefix="ciam-bench-startup-") as tmp:
        os.chmod(tmp, 0o711)  # noqa: S103 - as root, the `postgres` user must reach var/postgres
        var = Path(tmp) / "var"
        print("cold start (fresh state):", flush=True)
        cold = one_run(var, base)
        warm: list[dict[str, float]] = []
        for i in range(max(1, runs - 1)):
            print(f"restart {i + 1}:", flush=True)
            warm.append(one_run(var, base))
    components = sorted({name for run in warm for name in run if name != "phases"})
    return {
        "runs": 1 + len(warm),
        "cold_start_s": cold,
        "restart_median_s": {
            name: round(statistics.median(r[name] for r in warm if name in r), 2)
            for name in components
        },
        "restarts_s": warm,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "note": (
            "services: from their process start (brokers already ready) to /readyz 200; "
            "total: from the runner's start to its ready line"
        ),
    }


if __name__ == "__main__":
    result = main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["restart_median_s"], indent=2))
    print(f"cold start: {result['cold_start_s']}")
    print(f"written to {RESULTS}")
