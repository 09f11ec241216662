"""Storage per customer, measured: PostgreSQL bytes per customer of the consent, profile and
notifier databases, bytes per stored tracking event, and the compacted consent-state topic's
bytes per customer, extrapolated to a million customers (docs/operations.md, "Sizing").

Each service runs as its own process on real Kafka and PostgreSQL. A "typical" customer here:
registered (an identity event, as auth publishes it), five consent changes (a batch of four
choices at sign-up, then a withdrawal: five history entries with signed receipts), a profile
with a few fields, and one webhook endpoint of a brand app receiving every change (five
deliveries kept). Tracking events grow with use, not with customers: they are measured per
event. Auth's own database (accounts, refresh tokens) is not measured here (its registration
runs argon2id per account; see docs/operations.md for what that leaves open).

Run: .venv/bin/python bench/sizing.py --customers 2000 (writes bench/results/sizing.json)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer
from common import run, write_result
from joserfc.jwk import ECKey

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess, publish_event
from ciam_shared.events import CloudEvent, UserRegistered
from ciam_shared.tokens.scopes import NOTIFIER_WEBHOOKS
from ciam_shared.topics import ALL_TOPICS, CONSENT_CHANGES, CONSENT_STATE, ensure_topics

MILLION = 1_000_000
SIGN_UP = [
    {"purpose": "email-marketing", "status": "granted"},
    {"purpose": "personalisation", "status": "granted"},
    {"purpose": "analytics", "status": "granted"},
    {"purpose": "sms-marketing", "status": "withdrawn"},
]


class Endpoint:
    """The brand app's webhook endpoint: counts deliveries, answers 204."""

    def __init__(self, expected: int) -> None:
        self.port = free_port()
        self.received = 0
        self.expected = expected
        self.all_in = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.received += 1
        if self.received >= self.expected:
            self.all_in.set()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def database_bytes(url: str) -> int:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute("VACUUM ANALYZE")  # settle the free space map and visibility
        return int(await connection.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await connection.close()


async def tables(url: str) -> dict[str, int]:
    """Every table's bytes (heap, indexes, TOAST), largest first."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await connection.fetch(
            "SELECT relname, pg_total_relation_size(relid) AS bytes "
            "FROM pg_stat_user_tables ORDER BY bytes DESC"
        )
        return {r["relname"]: int(r["bytes"]) for r in rows}
    finally:
        await connection.close()


# Bounded by traffic and retention (ciam_shared.retention), not by customers.
BOOKKEEPING = ("outbox", "processed_events")


def customer_bytes(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(b - before.get(t, 0) for t, b in after.items() if t not in BOOKKEEPING)


async def topic_bytes(bootstrap: str, topic: str) -> tuple[int, int, int, int]:
    """A topic's records as stored (key, value and headers): the bytes and count of all of
    them, and of the latest record of each key (what compaction keeps)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    latest: dict[bytes, int] = {}
    total = records = 0
    try:
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=1000)
            idle = 0 if batch else idle + 1
            for partition in batch.values():
                for r in partition:
                    size = len(r.key or b"") + len(r.value or b"")
                    size += sum(len(k) + len(v) for k, v in r.headers)
                    total += size
                    records += 1
                    if r.key is not None:
                        latest[r.key] = size
    finally:
        await consumer.stop()
    return sum(latest.values()), len(latest), total, records


async def main(
    args: argparse.Namespace, bootstrap: str, redis: str, postgres: str
) -> dict[str, Any]:
    factory = DatabaseFactory(postgres)
    urls = {
        s: await factory.create(f"ciam_{s}.migrations") for s in ("consent", "profile", "notifier")
    }
    prefix = f"size{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap, ALL_TOPICS, prefix=prefix)
    await register_app(bootstrap, "bench", CATALOGUE_PURPOSES, prefix=prefix)
    issuer = TokenIssuer().start()
    shared = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "REDIS_URL": redis,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
        "TOKEN_ISSUER": issuer.url,
    }
    envs = {
        "consent": {
            "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode()
        },
        "profile": {},
        "notifier": {"NOTIFIER_WEBHOOK_ALLOWLIST": '["127.0.0.0/8"]'},
    }
    workdir = Path(tempfile.mkdtemp())
    baseline = {s: await database_bytes(u) for s, u in urls.items()}
    baseline_tables = {s: await tables(u) for s, u in urls.items()}
    endpoint = Endpoint(expected=5 * args.customers)
    server = uvicorn.Server(
        uvicorn.Config(
            endpoint, host="127.0.0.1", port=endpoint.port, log_level="error", lifespan="off"
        )
    )
    server_task = asyncio.create_task(server.serve())
    processes: dict[str, ServiceProcess] = {}
    try:
        for service in ("consent", "profile", "notifier"):  # consent first: its catalogue
            upper = service.upper()
            env = (
                shared
                | envs[service]
                | {
                    f"{upper}_DATABASE_URL": urls[service],
                    f"{upper}_MIGRATE_ON_START": "false",
                    f"{upper}_LOG_LEVEL": "WARNING",
                }
            )
            processes[service] = ServiceProcess(service, env, workdir).start()
        app = issuer.bearer(
            issuer.app_token(
                "bench",
                scopes=("consent:read", "consent:write", "profile:track", NOTIFIER_WEBHOOKS),
                ttl=3600,
            )
        )
        customers = [uuid.uuid4() for _ in range(args.customers)]
        # Idle connections dropped before uvicorn's keep-alive (5 s) closes them under a request
        # (an httpx.ReadError on a loaded machine).
        limits = httpx.Limits(max_connections=32, keepalive_expiry=2.0)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            created = await http.post(
                f"{processes['notifier'].url}/v1/subscriptions",
                json={"url": f"http://127.0.0.1:{endpoint.port}/hook"},
                headers=app,
            )
            created.raise_for_status()
            t0 = time.perf_counter()
            for subject in customers:
                registered = UserRegistered(subject_id=subject, registered_at=datetime.now(UTC))
                await publish_event(
                    bootstrap, CloudEvent.wrap(registered, source="/ciam/auth"), prefix=prefix
                )
            queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
            for subject in customers:
                queue.put_nowait(subject)

            async def customer_journey() -> None:
                while not queue.empty():
                    subject = queue.get_nowait()
                    me = issuer.bearer(issuer.customer_token(str(subject)))
                    consents = f"{processes['consent'].url}/v1/subjects/{subject}/consents"
                    (
                        await http.post(consents, json={"changes": SIGN_UP}, headers=app)
                    ).raise_for_status()
                    withdraw = {"changes": [{"purpose": "email-marketing", "status": "withdrawn"}]}
                    (await http.post(consents, json=withdraw, headers=app)).raise_for_status()
                    profile = f"{processes['profile'].url}/v1/profiles/{subject}"
                    fields = {"fields": {"name": "Ada Lovelace", "job": {"title": "analyst"}}}
                    for _ in range(50):  # the profile exists once the identity event is applied
                        patched = await http.patch(profile, json=fields, headers=me)
                        if patched.status_code != 404:
                            break
                        await asyncio.sleep(0.1)
                    patched.raise_for_status()

            await asyncio.gather(*(customer_journey() for _ in range(16)))
            await asyncio.wait_for(endpoint.all_in.wait(), 600)
            journeys_s = time.perf_counter() - t0
            # Tracking events, measured per event: one customer's page views.
            await database_bytes(urls["profile"])  # vacuumed
            before_events = (await tables(urls["profile"]))["tracked_events"]
            sample = customers[: max(1, args.customers // 10)]
            events = [
                {
                    "type": "page_viewed",
                    "channel": "web",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "subject_id": str(s),
                    "properties": {"path": "/products/42", "referrer": "/"},
                }
                for s in sample
                for _ in range(args.events_per_customer)
            ]
            for i in range(0, len(events), 500):
                tracked = await http.post(
                    f"{processes['profile'].url}/v1/events",
                    json={"events": events[i : i + 500]},
                    headers=app,
                )
                tracked.raise_for_status()
            stored_events = len(events)
            await database_bytes(urls["profile"])
            after_events = (await tables(urls["profile"]))["tracked_events"]
            event_bytes = (after_events - before_events) / stored_events
    finally:
        for process in processes.values():
            process.stop()
        server.should_exit = True
        await server_task
        issuer.stop()
    after = {s: await database_bytes(u) for s, u in urls.items()}
    after_tables = {s: await tables(u) for s, u in urls.items()}
    per_customer = {
        s: round(customer_bytes(baseline_tables[s], after_tables[s]) / args.customers) for s in urls
    }
    per_customer["profile"] -= round(event_bytes * stored_events / args.customers)
    bookkeeping = {
        s: {
            t: round((after_tables[s].get(t, 0) - baseline_tables[s].get(t, 0)) / args.customers)
            for t in BOOKKEEPING
        }
        for s in urls
    }
    state_bytes, keys, _, _ = await topic_bytes(bootstrap, CONSENT_STATE.name(prefix))
    _, _, change_bytes, changes = await topic_bytes(bootstrap, CONSENT_CHANGES.name(prefix))
    result = {
        "customers": args.customers,
        "webhook_deliveries": endpoint.received,
        "journeys_s": round(journeys_s, 1),
        "database_bytes_per_customer": per_customer,
        "whole_database_bytes_per_customer": {
            s: round((after[s] - baseline[s]) / args.customers) for s in urls
        },
        "bookkeeping_bytes_per_customer_before_pruning": bookkeeping,
        "database_gb_per_million_customers": {
            s: round(b * MILLION / 1e9, 2) for s, b in per_customer.items()
        },
        "tracking_event_bytes": round(event_bytes),
        "tracking_gb_per_million_events": round(event_bytes * MILLION / 1e9, 3),
        "consent_state_topic_bytes_per_customer": round(state_bytes / max(keys, 1)),
        "consent_state_topic_gb_per_million_customers": round(
            state_bytes / max(keys, 1) * MILLION / 1e9, 3
        ),
        # The change log is kept forever (audit, replay): it grows with every change.
        "consent_change_record_bytes": round(change_bytes / max(changes, 1)),
        "consent_changes_per_customer": round(changes / args.customers, 2),
        "largest_tables_bytes": {s: dict(list(t.items())[:6]) for s, t in after_tables.items()},
        "load_average_1m": round(os.getloadavg()[0], 2),
        "note": "PostgreSQL bytes after VACUUM ANALYZE, minus the migrated empty database, "
        "without the outbox and processed_events (pruned after 7 and 30 days: bounded by "
        "traffic, shown apart); profile without the tracking events (measured per event); "
        "state topic: the latest record per key (what compaction keeps); topic bytes: key, value "
        "and headers, before the broker's batch framing and compression",
    }
    write_result("sizing", result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--events-per-customer", type=int, default=20)
    run(main, parser.parse_args())
