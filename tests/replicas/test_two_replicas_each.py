"""Two processes each of consent, profile and the notifier on the same databases and topics,
one of each SIGKILLed in the middle of a burst and started again, and every effect counted.

- consent: a subject's changes alternate between the two replicas, so its events are staged
  by both and published by both relays; at the consumer (the compacted state topic read raw,
  and a ConsentView) each subject's versions arrive in order, none missing;
- the notifier (group `notifier.consent-changes`, shared partitions, rebalanced by the kill
  and the restart): every change fanned out once (one delivery row, one inbox row), every
  webhook received (a local receiver counting `webhook-id`s) in order per subject, and a
  webhook received twice only when the killed replica had posted it before it died (at least
  once; the receiver dedupes by id, as Standard Webhooks asks); every marketing email once
  at the SMTP sink, claimed by either replica's worker (`FOR UPDATE SKIP LOCKED`);
- profile (group `profile.identity-events`): every registration applied once (one profile, one
  inbox row);
- each replica's in-memory views (brand apps, consents) bootstrapped: the restarted notifier
  replica knows the app (it would answer 403 `app-unknown`) and both profiles report their
  consent view bootstrapped.
"""

from __future__ import annotations

import asyncio
import email
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer
from aiosmtpd.controller import Controller
from joserfc.jwk import ECKey
from sqlalchemy import text

from ciam_consent.auth import READ, WRITE
from ciam_consent_sdk import ConsentUpdate, ConsentView
from ciam_devtools.devstack import free_port
from ciam_devtools.testing.apps import register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import ServiceProcess, eventually, publish_event
from ciam_shared.db import create_engine
from ciam_shared.events import CloudEvent, UserRegistered, decode
from ciam_shared.tokens.scopes import NOTIFIER_WEBHOOKS
from ciam_shared.topics import ALL_TOPICS, CONSENT_STATE, ensure_topics

pytestmark = pytest.mark.e2e

SUBJECTS = 30
ACTIONS = ("grant", "withdraw", "grant")  # versions 1, 2, 3 of each subject
REGISTRATIONS_PER_STEP = 10
APP = "shop-backend"
PURPOSES = ("email-marketing", "analytics")


@dataclass
class Receiver:
    """A brand app's webhook endpoint: every POST, by `webhook-id`, with when it came."""

    port: int = field(default_factory=free_port)
    arrivals: list[tuple[str, str, int, float]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        webhook_id = dict(scope["headers"]).get(b"webhook-id", b"").decode()
        data = json.loads(body)["data"]
        self.arrivals.append(
            (webhook_id, data["subject_id"], int(data["version"]), time.monotonic())
        )
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@dataclass
class Mailbox:
    """aiosmtpd handler: each Message-ID it accepted."""

    ids: Counter[str] = field(default_factory=Counter)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.ids[str(email.message_from_bytes(envelope.content)["Message-ID"])] += 1
        return "250 OK"


@dataclass
class Cluster:
    consent: list[ServiceProcess]
    profile: list[ServiceProcess]
    notifier: list[ServiceProcess]
    databases: dict[str, str]
    receiver: Receiver
    mailbox: Mailbox
    issuer: TokenIssuer

    def app_headers(self, *scopes: str) -> dict[str, str]:
        return self.issuer.bearer(self.issuer.app_token(APP, scopes=scopes, ttl=3600))


async def start_all(processes: list[ServiceProcess]) -> None:
    """Start processes at once (each start waits for its /readyz)."""
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes))


@pytest.fixture
async def cluster(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    await ensure_topics(kafka_bootstrap, ALL_TOPICS, prefix=topic_prefix)
    await register_app(kafka_bootstrap, APP, PURPOSES, prefix=topic_prefix)
    receiver, mailbox = Receiver(), Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    server = uvicorn.Server(
        uvicorn.Config(
            receiver, host="127.0.0.1", port=receiver.port, log_level="error", lifespan="off"
        )
    )
    server_task = asyncio.create_task(server.serve())
    databases = {
        s: await fresh_database(f"ciam_{s}.migrations") for s in ("consent", "profile", "notifier")
    }
    shared = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "CIAM_ENVIRONMENT": "test",
        "TOKEN_ISSUER": token_issuer.url,
    }
    env = {
        "consent": shared
        | {
            "CONSENT_DATABASE_URL": databases["consent"],
            "CONSENT_MIGRATE_ON_START": "false",
            "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256")
            .as_pem(private=True)
            .decode(),
        },
        "profile": shared
        | {"PROFILE_DATABASE_URL": databases["profile"], "PROFILE_MIGRATE_ON_START": "false"},
        "notifier": shared
        | {
            "NOTIFIER_DATABASE_URL": databases["notifier"],
            "NOTIFIER_MIGRATE_ON_START": "false",
            "NOTIFIER_WEBHOOK_ALLOWLIST": '["127.0.0.0/8"]',
            "NOTIFIER_SMTP_HOST": "127.0.0.1",
            "NOTIFIER_SMTP_PORT": str(smtp.port),
            "NOTIFIER_SETTLE_SECONDS": "0.1",
            "NOTIFIER_MESSAGE_POLL_SECONDS": "0.2",
        },
    }
    processes = {
        service: [ServiceProcess(service, env[service], tmp_path) for _ in range(2)]
        for service in env
    }
    everything = [p for replicas in processes.values() for p in replicas]
    try:
        # Consent first: it announces the purpose catalogue the profiles read at start.
        await start_all(processes["consent"])
        await start_all(processes["profile"] + processes["notifier"])
        yield Cluster(
            processes["consent"],
            processes["profile"],
            processes["notifier"],
            databases,
            receiver,
            mailbox,
            token_issuer,
        )
    finally:
        for process in everything:
            process.stop()
        smtp.stop()
        server.should_exit = True
        await server_task


async def count(url: str, query: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text(query)) or 0)
    finally:
        await engine.dispose()


async def state_versions(bootstrap: str, prefix: str) -> dict[str, list[int]]:
    """Each subject's state records as the topic holds them (offset order, one partition per
    subject), a record published twice (a relay killed before marking it sent) counted once."""
    consumer = AIOKafkaConsumer(
        CONSENT_STATE.name(prefix), bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: set[str] = set()
    versions: dict[str, list[int]] = defaultdict(list)
    try:
        partitions = consumer.assignment()
        while not partitions:
            await asyncio.sleep(0.05)
            partitions = consumer.assignment()
        ends = await consumer.end_offsets(list(partitions))
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = decode(dict(record.headers), record.value)
                    if str(event.id) not in seen:
                        seen.add(str(event.id))
                        versions[str(event.data.subject_id)].append(event.data.version)
    finally:
        await consumer.stop()
    return versions


async def test_two_replicas_of_each_service_apply_every_change_once_across_a_kill(
    cluster: Cluster, kafka_bootstrap: str, topic_prefix: str
) -> None:
    consent, notifier, profile = cluster.consent, cluster.notifier, cluster.profile
    writes = cluster.app_headers(READ, WRITE)
    applied: dict[str, list[int]] = defaultdict(list)
    view = ConsentView(kafka_bootstrap, topic_prefix=topic_prefix, subscriber="counter")

    @view.on_change
    async def record(change: ConsentUpdate) -> None:
        applied[str(change.subject_id)].append(change.version)

    await view.start()
    subjects = [uuid.uuid4() for _ in range(SUBJECTS)]
    registered: list[uuid.UUID] = []
    http = httpx.AsyncClient(timeout=30)
    try:
        hook = await http.post(
            f"{notifier[0].url}/v1/subscriptions",
            json={"url": f"http://127.0.0.1:{cluster.receiver.port}/hook"},
            headers=cluster.app_headers(NOTIFIER_WEBHOOKS),
        )
        assert hook.status_code == 201, hook.text

        async def change(step: int, replicas: list[ServiceProcess]) -> None:
            """Step `step` of every subject at once; a subject's steps alternate replicas."""

            async def one(n: int, subject: uuid.UUID) -> None:
                target = replicas[(n + step) % len(replicas)]
                url = f"{target.url}/v1/subjects/{subject}/consents/email-marketing"
                response = await http.post(f"{url}/{ACTIONS[step]}", json={}, headers=writes)
                assert response.status_code == 200, response.text
                assert response.json()["version"] == step + 1

            await asyncio.gather(*(one(n, s) for n, s in enumerate(subjects)))

        async def register(n: int) -> None:
            """Registrations as auth publishes them: the profiles' consumer group's work."""
            for _ in range(n):
                subject = uuid.uuid4()
                registered.append(subject)
                event = UserRegistered(subject_id=subject, registered_at=datetime.now(UTC))
                wrapped = CloudEvent.wrap(event, source="/ciam/auth")
                await publish_event(kafka_bootstrap, wrapped, prefix=topic_prefix)

        await asyncio.gather(change(0, consent), register(REGISTRATIONS_PER_STEP))
        # The second replica of each service dies; the burst goes on against the first, and
        # the dead ones start again meanwhile: two rebalances of each consumer group.
        # Killed from threads: the receiver (on this loop) keeps taking the POSTs the dying
        # notifier sent before it died, so their arrival is before `killed_at`.
        await asyncio.gather(
            *(asyncio.to_thread(s.kill) for s in (consent[1], notifier[1], profile[1]))
        )
        killed_at = time.monotonic()
        await asyncio.gather(
            change(1, consent[:1]),
            register(REGISTRATIONS_PER_STEP),
            start_all([consent[1], notifier[1], profile[1]]),
        )
        await asyncio.gather(change(2, consent), register(REGISTRATIONS_PER_STEP))

        # Every change reached the test's view, in order, once.
        expected = {str(s): [1, 2, 3] for s in subjects}

        async def all_applied() -> bool:
            return {str(s): applied[str(s)] for s in subjects} == expected

        await eventually(all_applied, timeout=90)
        # ... and the topic holds each subject's states in order, none missing.
        on_topic = await state_versions(kafka_bootstrap, topic_prefix)
        assert {str(s): on_topic[str(s)] for s in subjects} == expected

        # The notifier: each change fanned out once and its webhook received.
        changes = SUBJECTS * len(ACTIONS)
        notifier_db = cluster.databases["notifier"]

        async def all_delivered() -> bool:
            ids = {arrival[0] for arrival in cluster.receiver.arrivals}
            return len(ids) == changes

        await eventually(all_delivered, timeout=90)
        assert await count(notifier_db, "SELECT count(*) FROM deliveries") == changes
        inbox = "SELECT count(*) FROM processed_events WHERE consumer = 'notifier.consent-changes'"
        assert await count(notifier_db, inbox) == changes
        first: dict[str, tuple[str, int, float]] = {}
        for webhook_id, subject_id, version, at in cluster.receiver.arrivals:
            first.setdefault(webhook_id, (subject_id, version, at))
        by_subject: dict[str, list[int]] = defaultdict(list)
        for subject_id, version, _ in first.values():
            by_subject[subject_id].append(version)
        assert dict(by_subject) == expected  # in order per subject at the endpoint
        received = Counter(arrival[0] for arrival in cluster.receiver.arrivals)
        again = [i for i, n in received.items() if n > 1]
        # A webhook came twice only if the killed replica had posted it before it died.
        late = {
            i: [round(at - killed_at, 3) for wid, _, _, at in cluster.receiver.arrivals if wid == i]
            for i in again
            if first[i][2] >= killed_at
        }
        assert late == {}, f"posted twice, first after the kill (s after it): {late}"

        # Profile: every registration applied once, by whichever replica held its partition.
        profile_db = cluster.databases["profile"]

        async def all_registered() -> bool:
            return await count(profile_db, "SELECT count(*) FROM profiles") == len(registered)

        await eventually(all_registered, timeout=60)
        inbox = "SELECT count(*) FROM processed_events WHERE consumer = 'profile.identity-events'"
        assert await count(profile_db, inbox) == len(registered)

        # Each replica's views bootstrapped, the restarted ones included.
        for replica in profile:
            metrics = (await http.get(f"{replica.url}/metrics")).text
            assert 'ciam_consent_view_bootstrapped{view="profile"} 1.0' in metrics

        # Email: one marketing message per subject, half requested at each notifier replica
        # (the restarted one knows the app from its own bootstrap: no 403), each sent once.
        messages: list[str] = []
        sends = cluster.app_headers(NOTIFIER_WEBHOOKS)

        async def request(n: int, subject: uuid.UUID) -> bool:
            body = {
                "subject_id": str(subject),
                "purpose": "email-marketing",
                "channel": "email",
                "to": f"{subject.hex[:8]}@example.com",
                "title": "Sale",
                "body": "50% off",
            }
            response = await http.post(
                f"{notifier[n % 2].url}/v1/messages", json=body, headers=sends
            )
            if response.status_code == 202:
                messages.append(response.json()["id"])
            else:  # 409 until that replica's consent view has the grant
                assert response.status_code == 409, response.text
            return response.status_code == 202

        await asyncio.gather(
            *(eventually(lambda n=n, s=s: request(n, s)) for n, s in enumerate(subjects))
        )

        async def all_mailed() -> bool:
            return len(cluster.mailbox.ids) == len(messages)

        await eventually(all_mailed, timeout=60)
        assert dict(cluster.mailbox.ids) == {f"<message-{m}@ciam.local>": 1 for m in messages}
    finally:
        await http.aclose()
        await view.stop()
