"""Consent propagation benchmark: withdraw over HTTP -> every subscriber's callback.

    make bench-propagation    -> bench/results/propagation.json and propagation.png

Everything is real and local: Kafka (KRaft), PostgreSQL and Redis from ciam_devtools.devstack
(or the servers named by KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL / REDIS_URL), the consent
service as its own uvicorn process, and the subscribers as ConsentViews (the brand-app SDK) in
this process, each reading the compacted state topic on its own.

1. Latency: from just before the withdraw (or grant) HTTP request is sent to each subscriber's
   callback for that change, for 1, 10 and 50 subscribers; requests one after another.
2. Throughput: changes per second through the service with 10 subscribers keeping up, with
   concurrent single-change requests; lost = changes a subscriber never reached, duplicates
   = changes a subscriber applied twice.
3. Bootstrap: a new ConsentView reading 100,000 subjects' states from the compacted topic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from common import RESULTS, percentile, run, wait_for, write_result
from joserfc.jwk import ECKey

from ciam_consent.auth import READ, WRITE
from ciam_consent_sdk import ConsentUpdate, ConsentView
from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess
from ciam_shared.events import CloudEvent, ConsentState, ConsentStateItem, ConsentStatus, encode
from ciam_shared.topics import ALL_TOPICS, CONSENT_STATE, ensure_topics


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "samples": len(ms),
    }


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[tuple[str, int], list[float]] = defaultdict(list)
        self.by_view: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))

    def attach(self, name: str, view: ConsentView) -> None:
        async def arrived(change: ConsentUpdate) -> None:
            now = time.perf_counter()
            self.at[(str(change.subject_id), change.version)].append(now)
            self.by_view[name][str(change.subject_id)].append(change.version)

        view.on_change(arrived)


async def views(
    bootstrap: str, prefix: str, n: int, arrivals: Arrivals, tag: str
) -> list[ConsentView]:
    made = []
    for i in range(n):
        view = ConsentView(bootstrap, topic_prefix=prefix, subscriber=f"{tag}-{i}")
        arrivals.attach(f"{tag}-{i}", view)
        made.append(view)
    await asyncio.gather(*(v.start() for v in made))
    return made


async def subscriber_process(bootstrap: str, prefix: str, count: int, tag: str) -> None:
    """`count` ConsentViews in this process: prints `ready`, then one line per callback
    (`subject version perf_counter view`) until its stdin closes. perf_counter is
    CLOCK_MONOTONIC, one clock for every process of the machine."""
    out = sys.stdout
    made = []
    for i in range(count):
        view = ConsentView(bootstrap, topic_prefix=prefix, subscriber=f"{tag}-{i}")

        async def arrived(change: ConsentUpdate, name: str = f"{tag}-{i}") -> None:
            out.write(f"{change.subject_id} {change.version} {time.perf_counter()} {name}\n")
            out.flush()

        view.on_change(arrived)
        made.append(view)
    await asyncio.gather(*(v.start() for v in made))
    out.write("ready\n")
    out.flush()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    await asyncio.gather(*(v.stop() for v in made))


class SubscriberProcesses:
    """Subscribers spread over processes (`per_process` views each), not one event loop: with
    50 views in the benchmark's own process its loop was the bottleneck."""

    def __init__(self, bootstrap: str, prefix: str, n: int, per_process: int, tag: str) -> None:
        self.args = (bootstrap, prefix, n, per_process, tag)
        self.procs: list[asyncio.subprocess.Process] = []
        self.readers: list[asyncio.Task[None]] = []

    async def start(self, arrivals: Arrivals) -> None:
        bootstrap, prefix, n, per_process, tag = self.args
        counts = [per_process] * (n // per_process) + ([n % per_process] if n % per_process else [])
        ready = []
        for k, count in enumerate(counts):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--subscriber-process", bootstrap, prefix, str(count),
                f"{tag}-p{k}", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                limit=1 << 20,
            )  # fmt: skip
            self.procs.append(proc)
            event = asyncio.Event()
            ready.append(event)
            self.readers.append(asyncio.create_task(self._read(proc, arrivals, event)))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 120)

    @staticmethod
    async def _read(
        proc: asyncio.subprocess.Process, arrivals: Arrivals, ready: asyncio.Event
    ) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode().split()
            if line == ["ready"]:
                ready.set()
            elif len(line) == 4:
                subject, version, at, name = line
                arrivals.at[(subject, int(version))].append(float(at))
                arrivals.by_view[name][subject].append(int(version))

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
        for task in self.readers:
            task.cancel()


async def latency(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    bootstrap: str,
    prefix: str,
    subscribers: int,
    changes: int,
    requests_ms: list[float],
    per_process: int = 0,
) -> list[float]:
    arrivals = Arrivals()
    spread = None
    if per_process:
        spread = SubscriberProcesses(
            bootstrap, prefix, subscribers, per_process, f"lat{subscribers}"
        )
        await spread.start(arrivals)
        started: list[ConsentView] = []
    else:
        started = await views(bootstrap, prefix, subscribers, arrivals, f"lat{subscribers}")
    samples: list[float] = []
    try:
        for i in range(changes):
            subject = uuid.uuid4()
            action = "grant" if i % 2 == 0 else "withdraw"
            t0 = time.perf_counter()
            response = await client.post(
                f"{url}/v1/subjects/{subject}/consents/email-marketing/{action}",
                json={},
                headers=headers,
            )
            response.raise_for_status()
            requests_ms.append((time.perf_counter() - t0) * 1000)
            version = response.json()["version"]
            key = (str(subject), version)
            await wait_for(lambda key=key: len(arrivals.at[key]) >= subscribers, 30)
            samples.extend((t - t0) * 1000 for t in arrivals.at[key])
    finally:
        await asyncio.gather(*(v.stop() for v in started))
        if spread is not None:
            await spread.stop()
    return samples


BATCH_PURPOSES = (
    "email-marketing",
    "sms-marketing",
    "personalisation",
    "analytics",
    "partner-sharing",
    "social-import",
)


async def throughput(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    bootstrap: str,
    prefix: str,
    changes: int,
    concurrency: int,
    batch: int,
) -> dict[str, Any]:
    """`batch` changes per request: 1 is one grant or withdrawal per request; more is one
    request changing `batch` purposes of a subject at once (the batch endpoint)."""
    arrivals = Arrivals()
    started = await views(bootstrap, prefix, 10, arrivals, f"tput{batch}")
    requests = changes // batch
    subjects = [uuid.uuid4() for _ in range(max(1, requests // 4))]
    plan = [(s, status) for s in subjects for status in ("granted", "withdrawn") * 2]
    expected: dict[str, int] = {}
    queue: asyncio.Queue[tuple[uuid.UUID, str]] = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            subject, status = queue.get_nowait()
            body = {"changes": [{"purpose": p, "status": status} for p in BATCH_PURPOSES[:batch]]}
            response = await client.post(
                f"{url}/v1/subjects/{subject}/consents", json=body, headers=headers
            )
            response.raise_for_status()
            expected[str(subject)] = max(expected.get(str(subject), 0), response.json()["version"])

    try:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        accepted = time.perf_counter() - t0

        def all_applied() -> bool:
            return len(arrivals.by_view) == 10 and all(
                applied.get(s, [0])[-1:] == [v]
                for applied in arrivals.by_view.values()
                for s, v in expected.items()
            )

        await wait_for(all_applied, 300)
        elapsed = time.perf_counter() - t0
        lags = [v.lag().records_behind for v in started]
    finally:
        await asyncio.gather(*(v.stop() for v in started))
    lost = duplicates = 0
    for applied in arrivals.by_view.values():
        for s, v in expected.items():
            got = applied.get(s, [])
            duplicates += len(got) - len(set(got))
            lost += 0 if got and got[-1] == v else 1
    total = len(plan) * batch
    return {
        "changes": total,
        "requests": len(plan),
        "changes_per_request": batch,
        "concurrency": concurrency,
        "accept_s": round(accepted, 3),
        "all_applied_s": round(elapsed, 3),
        "changes_per_s": round(total / elapsed, 1),
        "lost": lost,
        "duplicates_applied": duplicates,
        "lag_after": max(lags),
    }


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def bootstrap_100k(bootstrap: str, subjects: int) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap, [CONSENT_STATE], prefix=prefix)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        acks="all",
        enable_idempotence=True,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    now = datetime.now(UTC)
    try:
        futures = []
        for i in range(subjects):
            subject = uuid.uuid4()
            state = ConsentState(
                subject_id=subject,
                version=3,
                updated_at=now,
                consents=[
                    ConsentStateItem(
                        purpose="email-marketing",
                        purpose_version=1,
                        status=ConsentStatus.GRANTED,
                        version=1,
                        updated_at=now,
                    ),
                    ConsentStateItem(
                        purpose="analytics",
                        purpose_version=1,
                        channel="web",
                        status=ConsentStatus.WITHDRAWN,
                        version=3,
                        updated_at=now,
                    ),
                    ConsentStateItem(
                        purpose="partner-sharing",
                        purpose_version=1,
                        status=ConsentStatus.DENIED,
                        version=2,
                        updated_at=now,
                    ),
                ],
            )
            key, value, headers = encode(CloudEvent.wrap(state, source="/bench"))
            futures.append(
                await producer.send(
                    CONSENT_STATE.name(prefix),
                    value=value,
                    key=key,
                    headers=[(k, v.encode()) for k, v in headers.items()],
                )
            )
            if i % 5000 == 4999:
                await asyncio.gather(*futures)
                futures.clear()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    before = rss_mb()
    view = ConsentView(bootstrap, topic_prefix=prefix)
    t0 = time.perf_counter()
    await view.start()
    took = time.perf_counter() - t0
    after = rss_mb()
    count = len(view)
    await view.stop()
    assert count == subjects, f"bootstrapped {count} of {subjects}"
    return {
        "bootstrap_100k_s": round(took, 2),
        "bootstrap_100k_mb": round(after - before, 1),
        "subjects": count,
    }


def plot(latencies: dict[int, list[float]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    top = max(percentile(v, 99.5) for v in latencies.values())
    for n, values in latencies.items():
        ax.hist(
            values,
            bins=80,
            range=(0, top),
            histtype="step",
            linewidth=1.5,
            label=f"{n} subscriber{'s' if n > 1 else ''} (p50 {percentile(values, 50):.1f} ms, "
            f"p99 {percentile(values, 99):.1f} ms)",
        )
    ax.set_xlabel("withdraw request start -> subscriber callback (ms)")
    ax.set_ylabel("deliveries")
    ax.set_title("Consent propagation latency (consent service + Kafka + SDK, 2 cores)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


async def main(
    args: argparse.Namespace, bootstrap: str, redis: str, postgres: str
) -> dict[str, Any]:
    factory = DatabaseFactory(postgres)
    db_url = await factory.create("ciam_consent.migrations")
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap, ALL_TOPICS, prefix=prefix)
    issuer = TokenIssuer().start()  # the services' JWKS, as the auth service would serve
    env = {
        "CONSENT_DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
        "CONSENT_MIGRATE_ON_START": "false",
        "TOKEN_ISSUER": issuer.url,
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
        "CONSENT_LOG_LEVEL": "WARNING",
    }
    # The bench's app, registered as auth would (consent refuses an app it does not know).
    await register_app(bootstrap, "bench", CATALOGUE_PURPOSES, prefix=prefix)
    if args.service_code:
        # Another checkout's consent service (its shared, services/consent and sdk first on
        # PYTHONPATH): old and new code in one sitting.
        code = Path(args.service_code)
        paths = [code / "shared", code / "services" / "consent", code / "sdk"]
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    service = ServiceProcess("consent", env, Path(tempfile.mkdtemp())).start()
    headers = issuer.bearer(issuer.app_token("bench", scopes=(READ, WRITE), ttl=3600))
    result: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "subscribers": {}}
    latencies: dict[int, list[float]] = {}
    try:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
            for _ in range(5):  # warm-up: connections, JIT of the broker, caches
                await client.post(
                    f"{service.url}/v1/subjects/{uuid.uuid4()}/consents/email-marketing/grant",
                    json={},
                    headers=headers,
                )
            for n in (1, 10, 50):
                requests_ms: list[float] = []
                latencies[n] = await latency(
                    client, service.url, headers, bootstrap, prefix, n, args.changes,
                    requests_ms, per_process=args.views_per_process,
                )  # fmt: skip
                result["subscribers"][str(n)] = summary(latencies[n]) | {
                    "http_response_p50_ms": round(percentile(requests_ms, 50), 2)
                }
                print(n, result["subscribers"][str(n)], flush=True)
            result["views_per_process"] = args.views_per_process
            if args.latency_only:
                write_result(args.output, result)
                return result
            tput = await throughput(
                client,
                service.url,
                headers,
                bootstrap,
                prefix,
                args.throughput_changes,
                args.concurrency,
                batch=1,
            )
            print("throughput", tput, flush=True)
            tput_batch = await throughput(
                client,
                service.url,
                headers,
                bootstrap,
                prefix,
                args.throughput_changes * 3,
                args.concurrency,
                batch=6,
            )
            print("throughput (batches of 6)", tput_batch, flush=True)
    finally:
        service.stop()
        issuer.stop()
    result |= {
        "changes_per_s": tput["changes_per_s"],
        "lost": tput["lost"] + tput_batch["lost"],
        "duplicates_applied": tput["duplicates_applied"] + tput_batch["duplicates_applied"],
        "throughput": tput,
        "changes_per_s_batched": tput_batch["changes_per_s"],
        "throughput_batched": tput_batch,
    }
    boot = await bootstrap_100k(bootstrap, args.subjects)
    print("bootstrap", boot, flush=True)
    result |= boot
    write_result(args.output, result)
    plot(latencies, RESULTS / "propagation.png")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=200, help="latency samples per size")
    parser.add_argument("--throughput-changes", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument(
        "--views-per-process",
        type=int,
        default=5,
        help="latency subscribers per child process (0: all in this process, as before)",
    )
    parser.add_argument("--latency-only", action="store_true")
    parser.add_argument("--output", default="propagation")
    parser.add_argument("--service-code", default="", help="run the service from this checkout")
    if len(sys.argv) == 6 and sys.argv[1] == "--subscriber-process":
        _, _, kafka, topic_prefix, how_many, name = sys.argv
        asyncio.run(subscriber_process(kafka, topic_prefix, int(how_many), name))
        raise SystemExit(0)
    arguments = parser.parse_args()
    run(main, arguments)
