"""Webhook fan-out against the real broker and database, with real local HTTP receivers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select, text
from standardwebhooks import Webhook

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.models import outbox
from ciam_notifier.service import fanout
from ciam_notifier.service.delivery import DeliveryWorker
from ciam_notifier.settings import NotifierSettings
from ciam_shared.db import create_engine
from ciam_shared.events import (
    CloudEvent,
    CollectionMethod,
    ConsentGranted,
    ConsentStatus,
    ConsentWithdrawn,
    decode,
)
from ciam_shared.tokens.scopes import NOTIFIER_STREAM, NOTIFIER_WEBHOOKS
from ciam_shared.topics import CONSENT_APPLIED, ensure_topics


@dataclass
class Receiver:
    """A brand app's webhook endpoint: records what it gets, fails the first `failures`."""

    failures: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    attempts: int = 0
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.attempts += 1
        status = 500 if self.failures > 0 else 204
        if self.failures > 0:
            self.failures -= 1
        else:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            self.received.append((headers, body))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def serve(receivers: list[Receiver]) -> list[tuple[uvicorn.Server, asyncio.Task[None]]]:
    servers = []
    for receiver in receivers:
        config = uvicorn.Config(
            receiver, host="127.0.0.1", port=receiver.port, log_level="error", lifespan="off"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        servers.append((server, task))
    for server, _ in servers:
        await eventually(lambda server=server: _started(server))
    return servers


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)


async def shutdown(servers: list[tuple[uvicorn.Server, asyncio.Task[None]]]) -> None:
    for server, _ in servers:
        server.should_exit = True
    await asyncio.gather(*(task for _, task in servers), return_exceptions=True)


@dataclass
class Notifier:
    client: httpx.AsyncClient
    issuer: TokenIssuer
    db_url: str

    def app(self, client_id: str = "shop-backend") -> dict[str, str]:
        token = self.issuer.app_token(client_id, ttl=600, scopes=(NOTIFIER_WEBHOOKS,))
        return {"authorization": f"Bearer {token}"}

    async def subscribe(self, url: str, **body: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/subscriptions", json={"url": url, **body}, headers=self.app()
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def deliveries(self, subscription_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/subscriptions/{subscription_id}/deliveries", headers=self.app()
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found


@asynccontextmanager
async def started_notifier(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
    **overrides: Any,
) -> AsyncIterator[Notifier]:
    url = await fresh_database("ciam_notifier.migrations")
    tuning: dict[str, Any] = {
        "webhook_allowlist": ["127.0.0.0/8"],
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "retry_period_seconds": 1.5,
        "delivery_poll_seconds": 0.1,
    }
    settings = NotifierSettings(
        **settings_kwargs(
            url,
            kafka=kafka_bootstrap,
            redis=redis_url,
            topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        ),
        **(tuning | overrides),
    )
    async with running(create_app(settings)) as client:
        yield Notifier(client, token_issuer, url)


@pytest.fixture
async def notifier(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Notifier]:
    async with started_notifier(
        fresh_database, kafka_bootstrap, redis_url, topic_prefix, token_issuer
    ) as started:
        yield started


def change(
    model: type[Any], subject: uuid.UUID, version: int, purpose: str = "email-marketing"
) -> CloudEvent[Any]:
    status = ConsentStatus.WITHDRAWN if model is ConsentWithdrawn else ConsentStatus.GRANTED
    data = model(
        subject_id=subject,
        version=version,
        purpose=purpose,
        purpose_version=1,
        status=status,
        collected_via=CollectionMethod.WEB,
        occurred_at=datetime.now(UTC),
        entry_hash="0" * 64,
    )
    return CloudEvent.wrap(data, source="/ciam/consent")


async def test_a_withdrawal_reaches_ten_endpoints_signed_and_once_with_proof(
    notifier: Notifier, kafka_bootstrap: str, topic_prefix: str
) -> None:
    receivers = [Receiver() for _ in range(10)]
    servers = await serve(receivers)
    try:
        subscriptions = [await notifier.subscribe(r.url) for r in receivers]
        subject = uuid.uuid4()
        withdrawal = change(ConsentWithdrawn, subject, 1)
        await publish_event(kafka_bootstrap, withdrawal, prefix=topic_prefix, times=2)

        async def all_received() -> bool:
            return all(len(r.received) >= 1 for r in receivers)

        await eventually(all_received)
        for receiver, subscription in zip(receivers, subscriptions, strict=True):
            headers, body = receiver.received[0]
            payload = Webhook(subscription["secret"]).verify(body, headers)
            assert payload["type"] == "dev.ciam.consent.withdrawn.v1"
            assert payload["data"]["subject_id"] == str(subject)
            assert headers["webhook-id"] == str(withdrawal.id)
        proofs = await read_applied(kafka_bootstrap, topic_prefix, expected=10)
        assert {p.data.subscriber for p in proofs} == {
            f"webhook:shop-backend:{s['id']}" for s in subscriptions
        }
        assert all(p.data.event_id == withdrawal.id for p in proofs)
        # A sentinel: the subject's next change reaches each endpoint after every earlier
        # delivery of that subject (one subject's changes arrive in order), so a duplicate of
        # the first would have arrived before it.
        await publish_event(
            kafka_bootstrap, change(ConsentGranted, subject, 2), prefix=topic_prefix
        )

        async def sentinel_received() -> bool:
            return all(len(r.received) >= 2 for r in receivers)

        await eventually(sentinel_received)
        for receiver in receivers:
            versions = [json.loads(body)["data"]["version"] for _, body in receiver.received]
            assert versions == [1, 2]
    finally:
        await shutdown(servers)


async def read_applied(bootstrap: str, prefix: str, *, expected: int) -> list[Any]:
    await ensure_topics(bootstrap, [CONSENT_APPLIED], prefix=prefix)
    consumer = AIOKafkaConsumer(
        CONSENT_APPLIED.name(prefix),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    found: list[Any] = []
    try:
        async with asyncio.timeout(20):
            while len(found) < expected:
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    found.extend(decode(dict(r.headers), r.value) for r in records)
    finally:
        await consumer.stop()
    return found


async def test_a_failing_endpoint_is_retried_then_dead_lettered_then_replayed(
    notifier: Notifier, kafka_bootstrap: str, topic_prefix: str
) -> None:
    receiver = Receiver(failures=10_000)
    servers = await serve([receiver])
    try:
        subscription = await notifier.subscribe(receiver.url)
        subject = uuid.uuid4()
        await publish_event(
            kafka_bootstrap, change(ConsentWithdrawn, subject, 1), prefix=topic_prefix
        )

        async def dead() -> bool:
            log = await notifier.deliveries(subscription["id"])
            return bool(log) and log[0]["status"] == "dead"

        await eventually(dead, timeout=30)
        log = (await notifier.deliveries(subscription["id"]))[0]
        assert log["attempts"] >= 3
        assert log["last_status_code"] == 500
        engine = create_engine(notifier.db_url)
        try:
            async with engine.connect() as connection:
                types = (await connection.execute(select(outbox.c.event_type))).scalars().all()
        finally:
            await engine.dispose()
        assert "dev.ciam.notifier.webhook.dead-lettered.v1" in types

        receiver.failures = 0  # the app fixed its endpoint
        now = datetime.now(UTC)
        replay = await notifier.client.post(
            f"/v1/subscriptions/{subscription['id']}/replay",
            json={"since": (now - timedelta(hours=1)).isoformat(), "until": now.isoformat()},
            headers=notifier.app(),
        )
        assert replay.json() == {"requeued": 1}

        async def delivered() -> bool:
            return (await notifier.deliveries(subscription["id"]))[0]["status"] == "delivered"

        await eventually(delivered)
        assert len(receiver.received) == 1
    finally:
        await shutdown(servers)


async def test_one_subjects_changes_arrive_in_order_even_across_retries(
    notifier: Notifier, kafka_bootstrap: str, topic_prefix: str
) -> None:
    receiver = Receiver(failures=2)
    servers = await serve([receiver])
    try:
        await notifier.subscribe(receiver.url)
        subject = uuid.uuid4()
        await publish_event(
            kafka_bootstrap, change(ConsentGranted, subject, 1), prefix=topic_prefix
        )
        await publish_event(
            kafka_bootstrap, change(ConsentWithdrawn, subject, 2), prefix=topic_prefix
        )

        async def both() -> bool:
            return len(receiver.received) == 2

        await eventually(both)
        versions = [json.loads(body)["data"]["version"] for _, body in receiver.received]
        assert versions == [1, 2]
    finally:
        await shutdown(servers)


async def test_subscriptions_filter_by_purpose_and_pausing_holds_deliveries(
    notifier: Notifier, kafka_bootstrap: str, topic_prefix: str
) -> None:
    receiver = Receiver()
    servers = await serve([receiver])
    try:
        subscription = await notifier.subscribe(receiver.url, purposes=["sms-marketing"])
        paused = await notifier.client.post(
            f"/v1/subscriptions/{subscription['id']}/pause", headers=notifier.app()
        )
        assert paused.json()["status"] == "paused"
        subject = uuid.uuid4()
        await publish_event(
            kafka_bootstrap,
            change(ConsentWithdrawn, subject, 1, "email-marketing"),
            prefix=topic_prefix,
        )
        await publish_event(
            kafka_bootstrap,
            change(ConsentWithdrawn, subject, 2, "sms-marketing"),
            prefix=topic_prefix,
        )

        async def queued() -> dict[str, Any] | None:
            found = await notifier.deliveries(subscription["id"])
            return found[0] if len(found) == 1 else None

        first = await eventually(queued)

        # The worker's round has looked at it: it held it for later (a later next attempt).
        async def held() -> dict[str, Any] | None:
            (now,) = await notifier.deliveries(subscription["id"])
            return now if now["next_attempt_at"] != first["next_attempt_at"] else None

        looked_at = await eventually(held)
        assert receiver.received == []  # paused: held, not sent, not dead
        assert (looked_at["status"], looked_at["attempts"]) == ("pending", 0)
        await notifier.client.post(
            f"/v1/subscriptions/{subscription['id']}/resume", headers=notifier.app()
        )

        async def delivered() -> bool:
            return len(receiver.received) == 1

        await eventually(delivered)
        assert json.loads(receiver.received[0][1])["data"]["purpose"] == "sms-marketing"
    finally:
        await shutdown(servers)


async def test_unsafe_urls_and_strangers_are_refused(notifier: Notifier) -> None:
    for url in ("http://10.0.0.5/hook", "http://169.254.169.254/", "file:///etc/passwd"):
        response = await notifier.client.post(
            "/v1/subscriptions", json={"url": url}, headers=notifier.app()
        )
        assert response.status_code == 422, url
    mine = await notifier.subscribe("http://127.0.0.1:9/hook")
    other = notifier.issuer.app_token("cinema-app", scopes=(NOTIFIER_WEBHOOKS,))
    stranger = await notifier.client.get(
        f"/v1/subscriptions/{mine['id']}", headers={"authorization": f"Bearer {other}"}
    )
    assert stranger.status_code == 404
    customer = notifier.issuer.mint(str(uuid.uuid4()))
    refused = await notifier.client.get(
        "/v1/subscriptions", headers={"authorization": f"Bearer {customer}"}
    )
    assert refused.status_code == 403
    assert (await notifier.client.get("/v1/subscriptions")).status_code == 401
    rotated = await notifier.client.post(
        f"/v1/subscriptions/{mine['id']}/rotate-secret", headers=notifier.app()
    )
    assert rotated.json()["secret"] != mine["secret"]
    deleted = await notifier.client.delete(
        f"/v1/subscriptions/{mine['id']}", headers=notifier.app()
    )
    assert deleted.status_code == 204


async def test_a_fast_delivery_the_process_never_sent_goes_out_after_its_lease(
    notifier: Notifier, kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path's deliveries are leased; if the process stops between the fan-out's
    commit and the POST, a worker round delivers them once the lease has run out."""
    monkeypatch.setattr(fanout, "FAST_LEASE", timedelta(seconds=1))

    start = DeliveryWorker._start
    dropped: list[Any] = []

    def stopped_before_posting(self: DeliveryWorker, claimed: Any) -> None:
        if not dropped:  # the first claim is the fast path's: the process "stops" before it
            dropped.append(claimed)
            return
        start(self, claimed)

    monkeypatch.setattr(DeliveryWorker, "_start", stopped_before_posting)
    receiver = Receiver()
    servers = await serve([receiver])
    try:
        subscription = await notifier.subscribe(receiver.url)
        event = change(ConsentWithdrawn, uuid.uuid4(), 2)
        await publish_event(kafka_bootstrap, event, prefix=topic_prefix)

        async def delivered() -> bool:
            rows = await notifier.deliveries(subscription["id"])
            return [r["status"] for r in rows] == ["delivered"]

        await eventually(delivered)
    finally:
        await shutdown(servers)
    assert len(receiver.received) == 1
    assert receiver.received[0][0]["webhook-id"] == str(event.id)
    assert [c.event_id for c in dropped[0]] == [event.id]


async def test_webhook_subscriptions_need_the_webhooks_scope(notifier: Notifier) -> None:
    mine = await notifier.subscribe("http://127.0.0.1:9/hook")
    for scopes in ((), ("consent:read", NOTIFIER_STREAM)):
        token = notifier.issuer.app_token("shop-backend", scopes=scopes)
        headers = {"authorization": f"Bearer {token}"}
        for method, path in (
            ("POST", "/v1/subscriptions"),
            ("GET", "/v1/subscriptions"),
            ("GET", f"/v1/subscriptions/{mine['id']}"),
            ("POST", f"/v1/subscriptions/{mine['id']}/rotate-secret"),
            ("DELETE", f"/v1/subscriptions/{mine['id']}"),
        ):
            response = await notifier.client.request(
                method, path, json={"url": "http://127.0.0.1:9/other"}, headers=headers
            )
            assert response.status_code == 403, (scopes, method, path, response.text)
            assert response.json()["type"].endswith("/insufficient-scope")
            assert response.json()["scope"] == NOTIFIER_WEBHOOKS
    listed = await notifier.client.get("/v1/subscriptions", headers=notifier.app())
    assert [(s["id"], s["status"]) for s in listed.json()] == [(mine["id"], "active")]


@dataclass
class HangingReceiver(Receiver):
    """An endpoint that never answers for one subject (until released) and answers the
    others at once."""

    hang_for: str = ""
    release: asyncio.Event = field(default_factory=asyncio.Event)
    hanging: int = 0  # requests for `hang_for` received so far

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if json.loads(body)["data"]["subject_id"] == self.hang_for:
            self.hanging += 1
            await self.release.wait()
            return  # the connection closes without an answer
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((headers, body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def test_a_hanging_endpoint_holds_back_neither_other_subjects_nor_a_row_lock(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> None:
    """A backlog (built while the subscription is paused, as after a restart) goes out by
    worker rounds. One subject's request hangs: the other subject's three changes, each
    waiting for the one before, still arrive during that single hanging attempt, and the
    hanging delivery's row is not locked meanwhile (no transaction spans the POST). Then
    live changes of three more subjects (the fast path) arrive during it too."""
    receiver = HangingReceiver()
    servers = await serve([receiver])
    # Long enough that the first hanging attempt outlives the test's checks.
    async with started_notifier(
        fresh_database,
        kafka_bootstrap,
        redis_url,
        topic_prefix,
        token_issuer,
        delivery_timeout_seconds=25.0,
    ) as notifier:
        try:
            subscription = await notifier.subscribe(receiver.url)
            await notifier.client.post(
                f"/v1/subscriptions/{subscription['id']}/pause", headers=notifier.app()
            )
            stuck, flowing = uuid.uuid4(), uuid.uuid4()
            receiver.hang_for = str(stuck)
            await publish_event(
                kafka_bootstrap, change(ConsentWithdrawn, stuck, 1), prefix=topic_prefix
            )
            for version in (1, 2, 3):
                model = ConsentWithdrawn if version % 2 else ConsentGranted
                await publish_event(
                    kafka_bootstrap, change(model, flowing, version), prefix=topic_prefix
                )

            async def queued() -> bool:
                return len(await notifier.deliveries(subscription["id"])) == 4

            await eventually(queued)
            await notifier.client.post(
                f"/v1/subscriptions/{subscription['id']}/resume", headers=notifier.app()
            )

            async def flowed() -> bool:
                return len(receiver.received) == 3

            await eventually(flowed)
            assert receiver.hanging == 1  # all three arrived during the one hanging attempt
            versions = [json.loads(body)["data"]["version"] for _, body in receiver.received]
            assert versions == [1, 2, 3]

            engine = create_engine(notifier.db_url)
            try:
                async with engine.begin() as connection:
                    locked = await connection.execute(
                        text(
                            "SELECT id FROM deliveries WHERE subject_id = :subject "
                            "FOR UPDATE NOWAIT"
                        ),
                        {"subject": stuck},
                    )
                    assert len(locked.all()) == 1  # NOWAIT: an error if a round held it
            finally:
                await engine.dispose()

            # Live changes of other subjects (the fast path, no backlog) still go at once.
            live = [uuid.uuid4() for _ in range(3)]
            for subject in live:
                await publish_event(
                    kafka_bootstrap, change(ConsentWithdrawn, subject, 1), prefix=topic_prefix
                )

            async def live_arrived() -> bool:
                return len(receiver.received) == 6

            await eventually(live_arrived)
            assert receiver.hanging == 1  # still the one hanging attempt
            arrived = {json.loads(body)["data"]["subject_id"] for _, body in receiver.received}
            assert {str(s) for s in live} <= arrived
        finally:
            receiver.release.set()
            await shutdown(servers)
