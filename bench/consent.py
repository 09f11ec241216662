"""Consent service CPU per change, per core: the service pinned to one core, the load on the other.

    make bench-consent    -> bench/results/consent.json

Real PostgreSQL, Redis and Kafka (ciam_devtools.devstack, started from this process after it
pinned itself to the load core, so they inherit it); the consent service as its own uvicorn
process (one worker) pinned to the service core with `taskset`; `wrk` (C) on the load core
drives it. Figures, each over a fixed window:

- single: `POST .../consents/{purpose}/grant` and `.../withdraw`, one change per request
  (each request toggles its subject, so every answered request is a change);
- batched: `POST .../consents` with six changes per request (all six purposes toggled);
- healthz: the same load on `/healthz`, the floor of the HTTP stack.

`cpu_ms` is the service process's CPU time (utime + stime of /proc/<pid>/stat, all its
threads) per change, counted from the window's start until its outbox is drained (the relay's
publishing is part of the cost); 1000 / `cpu_ms` is what one whole core sustains whatever else
the machine runs. `per_s` is changes per second of wall time (the shared machine's figure).
After each window the database is checked: the subjects' versions add up to the changes
answered (nothing lost or applied twice) and every outbox row was published.

`--code name=DIR` (repeatable) runs the service from another checkout (its `shared`,
`services/consent` and `sdk` first on PYTHONPATH), alternating with the others round by round,
so old and new code are compared in one run on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from common import percentile, run, write_result
from joserfc.jwk import ECKey

from ciam_consent.auth import READ, WRITE
from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess
from ciam_shared.topics import ALL_TOPICS, ensure_topics

SERVICE_CPU, LOAD_CPU = 0, 1
BATCH_PURPOSES = (
    "email-marketing",
    "sms-marketing",
    "personalisation",
    "analytics",
    "partner-sharing",
    "social-import",
)


def pin_to_load_cpu() -> bool:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {LOAD_CPU})
        return True
    return False


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Each request toggles one subject of a pool (request i: subject i % pool, grant on even
# passes over the pool, withdraw on odd): every answered request is a change. The pool is
# large enough that a subject's two requests are never in flight together.
SINGLE_LUA = """
local n = 0
local pool = tonumber(os.getenv("BENCH_POOL"))
local run = os.getenv("BENCH_RUN")
local auth = os.getenv("BENCH_AUTH")
function request()
  local s = n % pool
  local action = (math.floor(n / pool) % 2 == 0) and "grant" or "withdraw"
  n = n + 1
  local path = string.format("/v1/subjects/%s-0000-4000-8000-%012x/consents/email-marketing/%s",
    run, s, action)
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
    ["Authorization"] = auth}, "{}")
end
"""

BATCH_LUA = """
local n = 0
local pool = tonumber(os.getenv("BENCH_POOL"))
local run = os.getenv("BENCH_RUN")
local auth = os.getenv("BENCH_AUTH")
local purposes = {PURPOSES}
local bodies = {}
for _, status in ipairs({"granted", "withdrawn"}) do
  local items = {}
  for _, p in ipairs(purposes) do
    table.insert(items, string.format('{"purpose":"%s","status":"%s"}', p, status))
  end
  table.insert(bodies, '{"changes":[' .. table.concat(items, ",") .. ']}')
end
function request()
  local s = n % pool
  local body = bodies[(math.floor(n / pool) % 2) + 1]
  n = n + 1
  local path = string.format("/v1/subjects/%s-0000-4000-8000-%012x/consents", run, s)
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
    ["Authorization"] = auth}, body)
end
""".replace("PURPOSES", ",".join(f'"{p}"' for p in BATCH_PURPOSES))


def wrk(
    url: str, script: str, env: dict[str, str], *, seconds: int, connections: int
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url]
    if shutil.which("taskset"):
        command = ["taskset", "-c", str(LOAD_CPU), *command]
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, env=os.environ | env
    ).stdout
    Path(f.name).unlink()
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    elapsed = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: (.*)", out)
    lat = {}
    for p in ("50", "99"):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
        lat[f"p{p}_ms"] = round(float(m.group(1)) * scale[m.group(2)], 2) if m else None
    return {
        "requests": total,
        "ok": total - failed,
        "failed": failed,
        "socket_errors": errors.group(1) if errors else None,
        "elapsed_s": elapsed,
    } | lat


async def drained(db_url: str, timeout: float = 60) -> float:
    """Waits until every outbox row is published; returns the seconds it took."""
    dsn = db_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            if loop.time() - t0 > timeout:
                raise TimeoutError("the outbox did not drain")
            await asyncio.sleep(0.05)
        return loop.time() - t0
    finally:
        await conn.close()


async def ledger(db_url: str) -> dict[str, int]:
    dsn = db_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT coalesce(sum(version), 0) FROM subjects) AS versions,"
            " (SELECT count(*) FROM consent_history) AS history,"
            " (SELECT count(*) FROM outbox WHERE event_type LIKE '%consent.state%') AS states,"
            " (SELECT count(*) FROM outbox WHERE sent_at IS NULL) AS unsent"
        )
        return dict(row)
    finally:
        await conn.close()


async def one_variant(
    name: str,
    code: Path | None,
    args: argparse.Namespace,
    factory: DatabaseFactory,
    kafka: str,
    redis: str,
) -> dict[str, Any]:
    db_url = await factory.create("ciam_consent.migrations")
    prefix = f"cbench{uuid.uuid4().hex[:6]}."
    await ensure_topics(kafka, ALL_TOPICS, prefix=prefix)
    await register_app(kafka, "bench", CATALOGUE_PURPOSES, prefix=prefix)
    issuer = TokenIssuer().start()
    env = {
        "CONSENT_DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
        "CONSENT_MIGRATE_ON_START": "false",
        "TOKEN_ISSUER": issuer.url,
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
        "CONSENT_LOG_LEVEL": "WARNING",
    }
    if code is not None:
        paths = [code / "shared", code / "services" / "consent", code / "sdk"]
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    service = ServiceProcess("consent", env, Path(tempfile.mkdtemp()))
    if shutil.which("taskset"):
        service.command_prefix = ["taskset", "-c", str(SERVICE_CPU)]
    service.start()
    pid = service.proc.proc.pid  # taskset execs the interpreter: the same pid
    token = issuer.app_token("bench", scopes=(READ, WRITE), ttl=3600)
    result: dict[str, Any] = {"code": name, "load_average_start": round(os.getloadavg()[0], 2)}
    run_id = 0
    try:
        for figure, script, per_request in (
            ("warmup", SINGLE_LUA, 1),
            ("single", SINGLE_LUA, 1),
            ("batched", BATCH_LUA, len(BATCH_PURPOSES)),
            ("healthz", None, 0),
        ):
            run_id += 1
            before = await ledger(db_url)
            cpu0 = cpu_seconds(pid)
            seconds = 2 if figure == "warmup" else args.seconds
            if script is None:
                out = wrk(
                    f"{service.url}/healthz",
                    'wrk.method = "GET"\n',
                    {},
                    seconds=seconds,
                    connections=args.concurrency,
                )
                cpu = cpu_seconds(pid) - cpu0
                result[figure] = out | {
                    "per_s": round(out["ok"] / out["elapsed_s"], 1),
                    "cpu_ms": round(cpu * 1000 / max(out["ok"], 1), 3),
                }
                continue
            lua_env = {
                "BENCH_POOL": str(args.pool),
                "BENCH_RUN": f"{run_id:08x}",
                "BENCH_AUTH": f"Bearer {token}",
            }
            spy = None
            if args.py_spy and figure != "warmup":
                # py-spy samples the service (from the load core) during the window: the
                # profile behind the figures (bench/README.md).
                spy = subprocess.Popen(  # noqa: ASYNC220 (started and left running)
                    ["taskset", "-c", str(LOAD_CPU), str(Path(sys.executable).parent / "py-spy"),
                     "record", "-p", str(pid), "-d", str(seconds), "-r", "200", "--nonblocking",
                     "-f", "raw", "-o", str(Path(args.py_spy) / f"{name}-{figure}.txt")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            out = wrk(
                f"{service.url}", script, lua_env, seconds=seconds, connections=args.concurrency
            )
            if spy is not None:
                spy.wait(timeout=60)
            drain_s = await drained(db_url)
            cpu = cpu_seconds(pid) - cpu0
            after = await ledger(db_url)
            changes = out["ok"] * per_request
            applied = after["versions"] - before["versions"]
            result[figure] = out | {
                "changes": changes,
                "applied": applied,
                "history_rows": after["history"] - before["history"],
                "state_events": after["states"] - before["states"],
                "unsent_after": after["unsent"],
                # The requests in flight when wrk stops are applied but not counted by wrk:
                # at most one per connection. Anything else is a lost or a doubled change.
                "in_flight_at_stop": applied - changes,
                "consistent": applied == after["history"] - before["history"]
                and 0 <= applied - changes <= args.concurrency * per_request
                and after["states"] - before["states"] == applied // per_request
                and after["unsent"] == 0,
                "per_s": round(changes / out["elapsed_s"], 1),
                # CPU per change the database holds (wrk's count misses the last in flight).
                "cpu_ms": round(cpu * 1000 / max(applied, 1), 3),
                "per_core_s": round(applied / cpu, 1) if cpu else None,
                "busy": round(cpu / (out["elapsed_s"] + drain_s), 2),
                "drain_s": round(drain_s, 2),
            }
            print(name, figure, json.dumps(result[figure]), flush=True)
    finally:
        service.stop()
        issuer.stop()
    result["load_average_end"] = round(os.getloadavg()[0], 2)
    return result


def _median(values: list[float]) -> float:
    return round(percentile(values, 50), 3)


async def main(args: argparse.Namespace, kafka: str, redis: str, postgres: str) -> dict[str, Any]:
    factory = DatabaseFactory(postgres)
    variants: list[tuple[str, Path | None]] = [("this", None)]
    for spec in args.code:
        name, _, directory = spec.partition("=")
        variants.append((name, Path(directory)))
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        # Alternate the order each round so neither variant always runs first.
        for name, code in variants if r % 2 == 0 else list(reversed(variants)):
            rounds.append(await one_variant(name, code, args, factory, kafka, redis))
    summary: dict[str, Any] = {}
    for name, _ in variants:
        mine = [r for r in rounds if r["code"] == name]
        summary[name] = {
            f"{figure}_{key}": _median([r[figure][key] for r in mine])
            for figure in ("single", "batched", "healthz")
            for key in ("cpu_ms", "per_s")
        } | {
            "single_per_core_s": _median([r["single"]["per_core_s"] for r in mine]),
            "batched_per_core_s": _median([r["batched"]["per_core_s"] for r in mine]),
            "single_p50_ms": _median([r["single"]["p50_ms"] for r in mine]),
            "single_p99_ms": _median([r["single"]["p99_ms"] for r in mine]),
            "all_consistent": all(r[f]["consistent"] for r in mine for f in ("single", "batched")),
        }
    result = {
        "machine": f"{os.cpu_count()} cores",
        "pinned": {"service": SERVICE_CPU, "load_and_servers": LOAD_CPU},
        "seconds_per_figure": args.seconds,
        "concurrency": args.concurrency,
        "summary": summary,
        "rounds": rounds,
    }
    write_result(args.output, result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pool", type=int, default=2000, help="subjects toggled per figure")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--code", action="append", default=[], help="name=DIR of another checkout (absolute)"
    )
    parser.add_argument("--output", default="consent")
    parser.add_argument("--py-spy", default="", help="a directory for py-spy profiles (raw)")
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench-consent needs wrk (apt-get install wrk)")
    pin_to_load_cpu()
    run(main, arguments)
