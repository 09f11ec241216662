"""How long the local Kafka broker (KRaft, from Maven jars) takes to serve metadata.

    make bench-broker   -> bench/results/broker_start.json

Each run formats fresh storage and starts a new JVM; the figure is from process start to the
first successful metadata request (what the runner and the test fixtures wait for).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ciam_devtools.devstack import start_kafka, start_postgres, start_redis


def measure(runs: int) -> dict[str, object]:
    kafka: list[float] = []
    postgres: list[float] = []
    redis: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            proc, _, _ = start_kafka(Path(tmp) / "kafka")
            kafka.append(time.monotonic() - started)
            proc.stop()
            started = time.monotonic()
            pg, _, data = start_postgres(Path(tmp) / "pg")
            postgres.append(time.monotonic() - started)
            pg.stop()
            shutil.rmtree(data, ignore_errors=True)
            started = time.monotonic()
            rd, _ = start_redis(Path(tmp) / "redis")
            redis.append(time.monotonic() - started)
            rd.stop()
    return {
        "runs": runs,
        "kafka_start_s": summary(kafka),
        "postgres_start_s": summary(postgres),
        "redis_start_s": summary(redis),
        "note": "kafka includes storage format and JVM start; postgres includes initdb",
    }


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 2),
        "min": round(ordered[0], 2),
        "max": round(ordered[-1], 2),
    }


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    result = measure(runs)
    out = Path(__file__).parent / "results" / "broker_start.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
