"""Profile benchmark: reads from the cache and from the database, tracking throughput with
the consent check, and the time from a withdrawal to the first read that hides the field.

    make bench-profile    -> bench/results/profile.json

Real Kafka, PostgreSQL and Redis (ciam_devtools.devstack, or the servers the environment
names); the profile service as its own uvicorn process (one worker) pinned to CPU 0 with
`taskset`, this process (the load) and the servers it starts on CPU 1 (bench/pinning.py, as
`make bench-auth`). The purpose catalogue and the consent states are published on their topics
as the consent service publishes them.

1. Reads: an app with declared purposes reads profiles (8 fields, 3 kinds visible), one
   request at a time. Cached: the assembled profile is in Redis. Database: its key is deleted
   before each read, so the service assembles it (graph walk, fields, behaviour) again.
   `/healthz` the same way first: the floor of any request on this path. For each, p50/p99
   and the service's CPU per request from /proc (`ServiceCpu`), after its idle CPU per
   second (Kafka consumers, relay) is measured.
2. Tracking: `--clients` concurrent clients post batches of `--batch` page views for
   consenting subjects until `--events` were sent; stored events per second.
3. Withdraw to hidden: a withdrawal of personalisation is published on the consent state
   topic; the app reads the profile in a loop until the descriptive field is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from common import percentile, run, sample, write_result
from pinning import SERVICE_CPU, ServiceCpu, pin_to_load_cpu, server_cpus

from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess
from ciam_shared.events import (
    BrandAppRegistered,
    CloudEvent,
    ConsentState,
    ConsentStateItem,
    ConsentStatus,
    PurposeDefined,
    UserRegistered,
    encode,
)
from ciam_shared.topics import ALL_TOPICS, ensure_topics

FIELDS = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "address": {
        "line1": "12 St James's Sq",
        "city": "London",
        "postal_code": "SW1",
        "country": "GB",
    },
    "job": {"title": "analyst"},
    "household": {"size": 2},
    "interests": ["maths", "poetry", "engines"],
    "preferences": {"newsletter": "weekly", "dark_mode": True},
    "satisfaction": 9,
}
CATALOGUE = {
    "analytics": ["behavioural"],
    "personalisation": ["descriptive", "attitudinal", "behavioural"],
}


async def send(producer: AIOKafkaProducer, event: CloudEvent[Any], prefix: str) -> Any:
    key, value, headers = encode(event)
    return await producer.send(
        f"{prefix}{event.data.topic_base_name}",
        value=value,
        key=key,
        headers=[(k, v.encode()) for k, v in headers.items()],
    )


def state(subject: uuid.UUID, version: int, personalisation: ConsentStatus) -> CloudEvent[Any]:
    now = datetime.now(UTC)
    items = [
        ConsentStateItem(
            purpose=purpose, purpose_version=1, status=status, version=version, updated_at=now
        )
        for purpose, status in (
            ("analytics", ConsentStatus.GRANTED),
            ("personalisation", personalisation),
        )
    ]
    data = ConsentState(subject_id=subject, version=version, updated_at=now, consents=items)
    return CloudEvent.wrap(data, source="/ciam/consent")


async def timed_reads(
    api: httpx.AsyncClient, paths: list[str], n: int, before: Any = None
) -> tuple[list[float], float]:
    """Each request's latency in ms, and the service's CPU seconds over all of them (less
    what `before` costs it: measured around each request alone)."""
    latencies, cpu = [], 0.0
    for i in range(n):
        path = paths[i % len(paths)]
        if before is not None:
            await before(path)
        cpu0, t0 = ServiceCpu.seconds(), time.perf_counter()
        response = await api.get(path)
        latencies.append((time.perf_counter() - t0) * 1000)
        cpu += ServiceCpu.seconds() - cpu0
        assert response.status_code == 200, response.text
    return latencies, cpu


def figures(name: str, latencies: list[float], cpu_s: float) -> dict[str, float]:
    return {
        f"{name}_p50_ms": round(percentile(latencies, 50), 2),
        f"{name}_p99_ms": round(percentile(latencies, 99), 2),
        f"{name}_cpu_ms": round(cpu_s * 1000 / len(latencies), 3),
    }


async def main(
    args: argparse.Namespace, bootstrap: str, redis_url: str, postgres: str
) -> dict[str, Any]:
    prefix = f"pbench{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap, ALL_TOPICS, prefix=prefix)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    for purpose, kinds in CATALOGUE.items():
        defined = PurposeDefined(
            purpose_id=purpose,
            legal_basis="dpv:Consent",
            data_categories=kinds,
            channels=[],
            sale_or_share=False,
            current_version=1,
            min_valid_version=1,
            defined_at=datetime.now(UTC),
        )
        await send(producer, CloudEvent.wrap(defined, source="/ciam/consent"), prefix)
    # The brand app, as the auth service registers it, with every purpose declared.
    now = datetime.now(UTC)
    app = BrandAppRegistered(
        client_id="shop-web", name="Shop", brand="acme", purposes=list(CATALOGUE),
        scopes=["profile:read", "profile:track"], first_party=True, registered_at=now,
        updated_at=now,
    )  # fmt: skip
    await send(producer, CloudEvent.wrap(app, source="/ciam/auth"), prefix)
    await producer.flush()
    db_url = await DatabaseFactory(postgres).create("ciam_profile.migrations")
    issuer = TokenIssuer().start()  # the services' JWKS, as the auth service would serve
    env = {
        "PROFILE_DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
        "PROFILE_MIGRATE_ON_START": "false",
        "TOKEN_ISSUER": issuer.url,
        "PROFILE_LOG_LEVEL": "WARNING",
    }
    service = ServiceProcess("profile", env, Path(tempfile.mkdtemp()))
    if shutil.which("taskset"):
        service.command_prefix = ["taskset", "-c", str(SERVICE_CPU)]
    service.start()
    ServiceCpu.pid = service.proc.proc.pid  # taskset execs the interpreter: the same pid
    admin = issuer.bearer(issuer.app_token("ops", scopes=("profile:admin",), ttl=3600))
    app_token = issuer.app_token(
        "shop-web", brand="acme", scopes=("profile:read", "profile:track"), ttl=3600
    )
    redis = aioredis.from_url(redis_url)
    subjects = [uuid.uuid4() for _ in range(args.subjects)]
    result: dict[str, Any] = {
        "subjects": args.subjects,
        "reads": args.reads,
        "pinned": {"service": SERVICE_CPU, "load_and_servers": sorted(os.sched_getaffinity(0))},
        "server_cpus": server_cpus(),
        "load_average_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    try:
        async with httpx.AsyncClient(
            base_url=service.url, headers={"authorization": f"Bearer {app_token}"}, timeout=30
        ) as api:
            for subject in subjects:
                registered = UserRegistered(subject_id=subject, registered_at=datetime.now(UTC))
                await send(producer, CloudEvent.wrap(registered, source="/bench"), prefix)
                await send(producer, state(subject, 1, ConsentStatus.GRANTED), prefix)
            await producer.flush()
            for subject in subjects:
                for _ in range(400):
                    r = await api.patch(
                        f"/v1/profiles/{subject}", json={"fields": FIELDS}, headers=admin
                    )
                    if r.status_code == 200:
                        break
                    await asyncio.sleep(0.05)
                r.raise_for_status()
            # Every subject's grant applied and its profile cached.
            for subject in subjects:
                for _ in range(400):
                    body = (await api.get(f"/v1/profiles/{subject}")).json()
                    if "job" in body["fields"]:
                        break
                    await asyncio.sleep(0.05)

            # What the idle service spends (its consumers polling, the relay, metrics).
            cpu0, t0 = ServiceCpu.seconds(), time.perf_counter()
            await asyncio.sleep(2)
            idle = (ServiceCpu.seconds() - cpu0) / (time.perf_counter() - t0)
            result["idle_cpu_ms_per_s"] = round(idle * 1000, 2)
            # What any request costs here (client, loopback, uvicorn, the shared middleware).
            health, cpu = await timed_reads(api, ["/healthz"], args.reads)
            result |= figures("healthz", health, cpu)
            paths = [f"/v1/profiles/{subject}" for subject in subjects]
            spy = sample(ServiceCpu.pid, args.profile) if args.profile else None
            cached, cpu = await timed_reads(api, paths, args.reads)
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file and ends
                spy.wait()
            result |= figures("read_cached", cached, cpu)

            async def evict(path: str) -> None:
                await redis.delete(f"{prefix}ciam:profile:doc:{path.rsplit('/', 1)[1]}")

            from_db, cpu = await timed_reads(api, paths, args.reads // 2, before=evict)
            result |= figures("read_db", from_db, cpu)
            print("reads", result, flush=True)
            if args.reads_only:
                return finish(result, args.output)

            per_client = args.events // args.clients // args.batch

            async def client(c: int) -> int:
                stored = 0
                for b in range(per_client):
                    now = datetime.now(UTC).isoformat()
                    events = [
                        {
                            "type": "page_view",
                            "channel": "web",
                            "subject_id": str(
                                subjects[(c * 7919 + b * args.batch + i) % len(subjects)]
                            ),
                            "occurred_at": now,
                            "properties": {"path": "/shop"},
                        }
                        for i in range(args.batch)
                    ]
                    r = await api.post("/v1/events", json={"events": events})
                    stored += r.json()["stored"]
                return stored

            t0 = time.perf_counter()
            stored = sum(await asyncio.gather(*(client(c) for c in range(args.clients))))
            elapsed = time.perf_counter() - t0
            result["track_events"] = stored
            result["track_batch"] = args.batch
            result["track_clients"] = args.clients
            result["track_per_s"] = round(stored / elapsed, 1)
            single = 300
            t0 = time.perf_counter()
            for i in range(single):
                event = {
                    "type": "page_view",
                    "channel": "web",
                    "subject_id": str(subjects[i % len(subjects)]),
                    "occurred_at": datetime.now(UTC).isoformat(),
                }
                await api.post("/v1/events", json={"events": [event]})
            result["track_single_event_requests_per_s"] = round(
                single / (time.perf_counter() - t0), 1
            )
            print("tracking", result, flush=True)

            hidden_ms: list[float] = []
            for subject in subjects[: args.withdrawals]:
                await api.get(f"/v1/profiles/{subject}")  # cached, visible
                t0 = time.perf_counter()
                await (await send(producer, state(subject, 2, ConsentStatus.WITHDRAWN), prefix))
                while True:
                    body = (await api.get(f"/v1/profiles/{subject}")).json()
                    if "job" not in body["fields"]:
                        break
                hidden_ms.append((time.perf_counter() - t0) * 1000)
            for p in (50, 99):
                result[f"withdraw_to_hidden_p{p}_ms"] = round(percentile(hidden_ms, p), 2)
            print("withdraw", result, flush=True)
    finally:
        await producer.stop()
        await redis.aclose()
        service.stop()
        issuer.stop()
    return finish(result, args.output)


def finish(result: dict[str, Any], output: str) -> dict[str, Any]:
    result["load_average_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    write_result(output, result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--events", type=int, default=40000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--withdrawals", type=int, default=100)
    parser.add_argument(
        "--reads-only", action="store_true", help="the reads alone (part 1): profile_reads.json"
    )
    parser.add_argument("--output", default="")
    parser.add_argument("--profile", default="", help="py-spy of the cached reads to this file")
    arguments = parser.parse_args()
    arguments.output = arguments.output or ("profile_reads" if arguments.reads_only else "profile")
    pin_to_load_cpu()  # before the servers start: they inherit it
    run(main, arguments)
