"""Brand apps as the auth service registers them (its compacted apps topic): who may subscribe,
which changes reach an app, and what an app's deletion stops. Real broker, database and local
HTTP receivers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.apps import delete_app, publish_app_tombstone, register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.models import Delivery, Subscription
from ciam_notifier.repository import stop_subscriptions_of
from ciam_notifier.settings import NotifierSettings
from ciam_shared.db import create_engine, unit_of_work
from ciam_shared.events import CloudEvent, CollectionMethod, ConsentStatus, ConsentWithdrawn
from ciam_shared.tokens.scopes import NOTIFIER_WEBHOOKS


@dataclass
class Receiver:
    """A webhook endpoint that takes everything and keeps the payloads."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def purposes(self) -> list[str]:
        return [p["data"]["purpose"] for p in self.payloads]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.payloads.append(json.loads(body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@dataclass
class Notifier:
    client: httpx.AsyncClient
    issuer: TokenIssuer
    db_url: str
    kafka: str
    prefix: str
    service: Any

    def app(self, client_id: str) -> dict[str, str]:
        token = self.issuer.app_token(client_id, ttl=600, scopes=(NOTIFIER_WEBHOOKS,))
        return {"authorization": f"Bearer {token}"}

    async def declare(self, client_id: str, purposes: Sequence[str]) -> None:
        """Auth registers (or changes) the app; returns once the notifier knows it so."""
        await register_app(self.kafka, client_id, purposes, prefix=self.prefix)
        apps = self.service.state.runtime.parts.apps

        async def known() -> bool:
            app = apps.get(client_id)
            return app is not None and sorted(app.purposes) == sorted(purposes)

        await eventually(known)

    async def subscribe(self, client_id: str, url: str, **body: Any) -> httpx.Response:
        return await self.client.post(
            "/v1/subscriptions", json={"url": url, **body}, headers=self.app(client_id)
        )

    async def deliveries(self, client_id: str, subscription_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/subscriptions/{subscription_id}/deliveries", headers=self.app(client_id)
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    async def withdraw(self, subject: uuid.UUID, version: int, purpose: str) -> None:
        data = ConsentWithdrawn(
            subject_id=subject,
            version=version,
            purpose=purpose,
            purpose_version=1,
            status=ConsentStatus.WITHDRAWN,
            collected_via=CollectionMethod.WEB,
            occurred_at=datetime.now(UTC),
            entry_hash="0" * 64,
        )
        event = CloudEvent.wrap(data, source="/ciam/consent")
        await publish_event(self.kafka, event, prefix=self.prefix)

    async def rows(self, client_id: str) -> list[tuple[str, list[str]]]:
        """Each subscription's status and its deliveries' statuses, from the database."""
        engine = create_engine(self.db_url)
        try:
            async with engine.connect() as connection:
                subs = (
                    await connection.execute(
                        select(Subscription.id, Subscription.status)
                        .where(Subscription.app == client_id)
                        .order_by(Subscription.created_at)
                    )
                ).all()
                found = []
                for sub_id, status in subs:
                    deliveries = await connection.scalars(
                        select(Delivery.status).where(Delivery.subscription_id == sub_id)
                    )
                    found.append((status, list(deliveries)))
                return found
        finally:
            await engine.dispose()


@pytest.fixture
async def notifier(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Notifier]:
    url = await fresh_database("ciam_notifier.migrations")
    settings = NotifierSettings(
        **settings_kwargs(
            url,
            kafka=kafka_bootstrap,
            redis=redis_url,
            topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        ),
        webhook_allowlist=["127.0.0.0/8"],
        delivery_poll_seconds=0.1,
    )
    service = create_app(settings)
    async with running(service) as client:
        yield Notifier(client, token_issuer, url, kafka_bootstrap, topic_prefix, service)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(
            receiver, host="127.0.0.1", port=receiver.port, log_level="error", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await eventually(started)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


def _slug(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return str(response.json()["type"].rsplit("/", 1)[-1])


async def test_a_subscription_needs_a_known_app_and_only_its_declared_purposes(
    notifier: Notifier,
) -> None:
    await notifier.declare("news-app", ["email-marketing"])
    hook = "http://127.0.0.1:9/hook"
    undeclared = await notifier.subscribe("news-app", hook, purposes=["sms-marketing"])
    assert undeclared.status_code == 403
    assert _slug(undeclared) == "purpose-not-declared"
    assert undeclared.json()["purpose"] == "sms-marketing"

    stranger = await notifier.subscribe("never-registered", hook)
    assert stranger.status_code == 403
    assert _slug(stranger) == "app-unknown"

    declared = await notifier.subscribe("news-app", hook, purposes=["email-marketing"])
    assert declared.status_code == 201, declared.text
    assert await notifier.rows("never-registered") == []


async def test_an_app_gets_only_the_changes_of_the_purposes_it_declares_now(
    notifier: Notifier, receiver: Receiver
) -> None:
    await notifier.declare("news-app", ["email-marketing"])
    everything = await notifier.subscribe("news-app", receiver.url)  # empty filter
    assert everything.status_code == 201, everything.text
    narrow = await notifier.subscribe(
        "news-app", "http://127.0.0.1:9/hook", purposes=["email-marketing"]
    )
    paused = await notifier.client.post(
        f"/v1/subscriptions/{narrow.json()['id']}/pause", headers=notifier.app("news-app")
    )
    assert paused.status_code == 200
    # One subject: one partition, so the changes are fanned out in this order.
    subject = uuid.uuid4()
    await notifier.withdraw(subject, 1, "sms-marketing")
    await notifier.withdraw(subject, 2, "email-marketing")

    async def got(count: int) -> bool:
        return len(receiver.payloads) >= count

    await eventually(lambda: got(1))
    assert receiver.purposes == ["email-marketing"]

    # The app's declaration changes at auth: deliveries follow it.
    await notifier.declare("news-app", ["sms-marketing"])
    await notifier.withdraw(subject, 3, "email-marketing")
    await notifier.withdraw(subject, 4, "sms-marketing")
    await eventually(lambda: got(2))
    assert receiver.purposes == ["email-marketing", "sms-marketing"]
    log = await notifier.deliveries("news-app", everything.json()["id"])
    assert [d["version"] for d in log] == [4, 2]

    # A filter the app no longer declares does not resume.
    resumed = await notifier.client.post(
        f"/v1/subscriptions/{narrow.json()['id']}/resume", headers=notifier.app("news-app")
    )
    assert resumed.status_code == 403
    assert _slug(resumed) == "purpose-not-declared"


async def test_a_deleted_apps_subscriptions_stop_and_its_token_is_refused(
    notifier: Notifier,
) -> None:
    await notifier.declare("news-app", ["email-marketing"])
    created = await notifier.subscribe("news-app", "http://127.0.0.1:9/hook")
    subscription_id = created.json()["id"]
    await notifier.client.post(
        f"/v1/subscriptions/{subscription_id}/pause", headers=notifier.app("news-app")
    )
    await notifier.withdraw(uuid.uuid4(), 1, "email-marketing")

    async def queued() -> bool:
        return len(await notifier.deliveries("news-app", subscription_id)) == 1

    await eventually(queued)  # held while paused

    await delete_app(notifier.kafka, "news-app", prefix=notifier.prefix)

    async def stopped() -> bool:
        return await notifier.rows("news-app") == [("deleted", ["cancelled"])]

    await eventually(stopped)
    refused = await notifier.client.get("/v1/subscriptions", headers=notifier.app("news-app"))
    assert refused.status_code == 403
    assert _slug(refused) == "app-unknown"
    # Stopping again (the tombstone after the event, a redelivery) changes nothing.
    async with unit_of_work(notifier.service.state.runtime.sessions) as session:
        assert await stop_subscriptions_of(session, "news-app", datetime.now(UTC)) == 0

    # The client id registered again: the old subscription stays stopped, a new one works.
    await notifier.declare("news-app", ["email-marketing"])
    old = await notifier.client.post(
        f"/v1/subscriptions/{subscription_id}/resume", headers=notifier.app("news-app")
    )
    assert old.status_code == 409
    assert _slug(old) == "subscription-stopped"
    assert (await notifier.subscribe("news-app", "http://127.0.0.1:9/hook")).status_code == 201
    assert [status for status, _ in await notifier.rows("news-app")] == ["deleted", "active"]


async def test_a_tombstone_alone_stops_the_apps_subscriptions(notifier: Notifier) -> None:
    """What a notifier reads once compaction removed the deletion event."""
    await notifier.declare("old-app", ["analytics"])
    created = await notifier.subscribe("old-app", "http://127.0.0.1:9/hook")
    assert created.status_code == 201
    await publish_app_tombstone(notifier.kafka, "old-app", prefix=notifier.prefix)

    async def stopped() -> bool:
        return await notifier.rows("old-app") == [("deleted", [])]

    await eventually(stopped)
    refused = await notifier.client.get(
        f"/v1/subscriptions/{created.json()['id']}", headers=notifier.app("old-app")
    )
    assert refused.status_code == 403
