"""Consent propagation with one consent process and with two: does throughput grow?

    make bench-propagation  (its second part) -> bench/results/propagation_replicas.json

Real and local, as bench/propagation.py: Kafka, PostgreSQL and Redis from ciam_devtools.devstack
(or KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL / REDIS_URL), the consent service as uvicorn
processes on one database (the second replica is a second process on it, as the runner's
CIAM_REPLICAS=2 starts it), and the subscribers as ConsentViews in separate processes (this
file with `subscribe`), each printing every change it applies.

For 1 and then 2 consent replicas (a fresh database each): `--changes` single-change requests,
`--concurrency` at a time, spread round robin over the replicas; the time from the first
request to the moment every subscriber process has applied every subject's last version. The
machine's load average is recorded before and after each run: on a shared machine it says
how much of the CPU the run had.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from common import run, write_result
from joserfc.jwk import ECKey

from ciam_consent.auth import READ, WRITE
from ciam_consent_sdk import ConsentUpdate, ConsentView
from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess
from ciam_shared.topics import ALL_TOPICS, ensure_topics


async def subscribe(bootstrap: str, prefix: str, name: str) -> None:
    """A brand app in its own process: prints `ready`, then `<subject> <version>` per change."""
    view = ConsentView(bootstrap, topic_prefix=prefix, subscriber=name)
    out = sys.stdout

    @view.on_change
    async def show(change: ConsentUpdate) -> None:
        out.write(f"{change.subject_id} {change.version}\n")
        out.flush()

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await view.start()
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await view.stop()


class Subscriber:
    """One subscriber process and the latest version it applied per subject."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.latest: dict[str, int] = {}
        self.applied = 0
        self.duplicates = 0
        self._seen: set[tuple[str, int]] = set()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            subject, version = line.decode().split()
            key = (subject, int(version))
            if key in self._seen:
                self.duplicates += 1
            self._seen.add(key)
            self.applied += 1
            self.latest[subject] = max(self.latest.get(subject, 0), int(version))

    async def stop(self) -> None:
        self.proc.terminate()
        await self.proc.wait()
        self._task.cancel()


async def start_subscriber(bootstrap: str, prefix: str, name: str) -> Subscriber:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "subscribe", bootstrap, prefix, name,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    assert line.strip() == b"ready", line
    return Subscriber(proc)


def process_cpu_s(pid: int) -> float:
    """utime + stime of a process (its threads included), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat (idle and iowait idle)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


async def one_run(
    replicas: int,
    args: argparse.Namespace,
    env: dict[str, str],
    factory: DatabaseFactory,
    subscribers: list[Subscriber],
    headers: dict[str, str],
) -> dict[str, Any]:
    env = env | {"CONSENT_DATABASE_URL": await factory.create("ciam_consent.migrations")}
    workdir = Path(tempfile.mkdtemp())
    services = [ServiceProcess("consent", env, workdir) for _ in range(replicas)]
    await asyncio.gather(*(asyncio.to_thread(s.start) for s in services))
    subjects = [uuid.uuid4() for _ in range(max(1, args.changes // 4))]
    plan = [(s, status) for s in subjects for status in ("granted", "withdrawn") * 2]
    expected: dict[str, int] = {}
    queue: asyncio.Queue[tuple[int, uuid.UUID, str]] = asyncio.Queue()
    for n, (subject, status) in enumerate(plan):
        queue.put_nowait((n, subject, status))
    load_before = os.getloadavg()
    try:
        # Idle connections dropped before uvicorn's keep-alive (5 s) closes them under us: on a
        # loaded machine a warm-up connection can sit that long.
        limits = httpx.Limits(max_connections=64, keepalive_expiry=2.0)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            for service in services:  # warm-up: connections, caches
                for _ in range(5):
                    subject = uuid.uuid4()
                    url = f"{service.url}/v1/subjects/{subject}/consents/email-marketing/grant"
                    (await http.post(url, json={}, headers=headers)).raise_for_status()

            async def worker() -> None:
                while not queue.empty():
                    n, subject, status = queue.get_nowait()
                    service = services[n % replicas]
                    response = await http.post(
                        f"{service.url}/v1/subjects/{subject}/consents",
                        json={"changes": [{"purpose": "email-marketing", "status": status}]},
                        headers=headers,
                    )
                    response.raise_for_status()
                    version = response.json()["version"]
                    expected[str(subject)] = max(expected.get(str(subject), 0), version)

            pids = [s.proc.pid for s in services if s.proc is not None and s.proc.pid]
            cpu_before = sum(process_cpu_s(pid) for pid in pids)
            busy_before, total_before = machine_jiffies()
            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            accepted = time.perf_counter() - t0

            def done() -> bool:
                return all(
                    sub.latest.get(s, 0) >= v for sub in subscribers for s, v in expected.items()
                )

            deadline = time.monotonic() + 600
            while not done():
                if time.monotonic() > deadline:
                    raise TimeoutError("not every subscriber applied every change")
                await asyncio.sleep(0.005)
            elapsed = time.perf_counter() - t0
            consent_cpu = sum(process_cpu_s(pid) for pid in pids) - cpu_before
            busy_after, total_after = machine_jiffies()
    finally:
        for service in services:
            service.stop()
    load_after = os.getloadavg()
    return {
        "consent_replicas": replicas,
        "changes": len(plan),
        "concurrency": args.concurrency,
        "subscriber_processes": len(subscribers),
        "accept_s": round(accepted, 3),
        "all_applied_s": round(elapsed, 3),
        "changes_per_s": round(len(plan) / elapsed, 1),
        # What limits it: the consent processes' CPU per change (grows if replicas contend),
        # and how busy the whole machine was (all cores; 1.0: nothing left to give).
        "consent_cpu_ms_per_change": round(consent_cpu * 1000 / len(plan), 2),
        "consent_cores_used": round(consent_cpu / elapsed, 2),
        "machine_busy": round((busy_after - busy_before) / max(total_after - total_before, 1), 3),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }


async def main(
    args: argparse.Namespace, bootstrap: str, redis: str, postgres: str
) -> dict[str, Any]:
    factory = DatabaseFactory(postgres)
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap, ALL_TOPICS, prefix=prefix)
    issuer = TokenIssuer().start()
    await register_app(bootstrap, "bench", CATALOGUE_PURPOSES, prefix=prefix)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
        "CONSENT_MIGRATE_ON_START": "false",
        "TOKEN_ISSUER": issuer.url,
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
        "CONSENT_LOG_LEVEL": "WARNING",
    }
    headers = issuer.bearer(issuer.app_token("bench", scopes=(READ, WRITE), ttl=3600))
    subscribers = [
        await start_subscriber(bootstrap, prefix, f"sub-{i}") for i in range(args.subscribers)
    ]
    runs = []
    try:
        for replicas in args.replicas:
            outcome = await one_run(replicas, args, env, factory, subscribers, headers)
            print(outcome, flush=True)
            runs.append(outcome)
    finally:
        for subscriber in subscribers:
            await subscriber.stop()
        issuer.stop()
    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores",
        "runs": runs,
        "duplicates_applied": sum(s.duplicates for s in subscribers),
    }
    write_result("propagation_replicas", result)
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["subscribe"]:
        asyncio.run(subscribe(*sys.argv[2:5]))
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--subscribers", type=int, default=4, help="subscriber processes")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    run(main, parser.parse_args())
