"""Marketing over email (a real SMTP server, aiosmtpd) and SMS (a local HTTP gateway), failing
closed on consent, against the real broker and database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.apps import register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.settings import NotifierSettings
from ciam_shared.events import (
    CloudEvent,
    CollectionMethod,
    ConsentState,
    ConsentStateItem,
    ConsentStatus,
    ConsentWithdrawn,
    encode,
)
from ciam_shared.topics import ALL_TOPICS, CONSENT_STATE, ensure_topics


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@dataclass
class SmsGateway:
    """A local SMS gateway that honours Idempotency-Key as real gateways do: a repeated key
    is answered again, not sent again. `received` is what was sent (key, body)."""

    port: int = field(default_factory=free_port)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    requests: int = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        message = await receive()
        headers = dict(scope["headers"])
        key = headers.get(b"idempotency-key", b"").decode()
        self.requests += 1
        if key not in {k for k, _ in self.received}:
            self.received.append((key, message["body"]))
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@dataclass
class Harness:
    client: httpx.AsyncClient
    issuer: TokenIssuer
    mailbox: Mailbox
    bootstrap: str
    prefix: str
    app: Any
    sms: SmsGateway

    def headers(self) -> dict[str, str]:
        token = self.issuer.app_token("shop-backend", ttl=600)
        return {"authorization": f"Bearer {token}"}

    async def state(self, subject: uuid.UUID, version: int, status: ConsentStatus) -> None:
        """Publish the subject's consent state as the consent service would."""
        now = datetime.now(UTC)
        state = ConsentState(
            subject_id=subject,
            version=version,
            updated_at=now,
            consents=[
                ConsentStateItem(
                    purpose="email-marketing",
                    purpose_version=1,
                    status=status,
                    version=version,
                    updated_at=now,
                )
            ],
        )
        key, value, headers = encode(CloudEvent.wrap(state, source="/ciam/consent"))
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                CONSENT_STATE.name(self.prefix),
                value=value,
                key=key,
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
        finally:
            await producer.stop()

    async def send(self, subject: uuid.UUID, channel: str = "email") -> httpx.Response:
        return await self.client.post(
            "/v1/messages",
            json={
                "subject_id": str(subject),
                "purpose": "email-marketing",
                "channel": channel,
                "to": "ada@example.com",
                "title": "Sale",
                "body": "50% off",
            },
            headers=self.headers(),
        )

    async def status(self, message_id: str) -> str:
        response = await self.client.get(f"/v1/messages/{message_id}", headers=self.headers())
        return str(response.json()["status"])

    def view(self) -> Any:
        return self.app.state.runtime.parts.messages.view


@pytest.fixture
async def harness(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Harness]:
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    sms = SmsGateway()
    gateway = uvicorn.Server(
        uvicorn.Config(sms, host="127.0.0.1", port=sms.port, log_level="error", lifespan="off")
    )
    gateway_task = asyncio.create_task(gateway.serve())
    await ensure_topics(kafka_bootstrap, ALL_TOPICS, prefix=topic_prefix)
    settings = NotifierSettings(
        **settings_kwargs(
            await fresh_database("ciam_notifier.migrations"),
            kafka=kafka_bootstrap,
            redis=redis_url,
            topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        ),
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        settle_seconds=0.3,
        sms_gateway_url=f"http://127.0.0.1:{sms.port}/sms",
        message_poll_seconds=0.1,
    )
    app = create_app(settings)
    try:
        async with running(app) as client:
            yield Harness(client, token_issuer, mailbox, kafka_bootstrap, topic_prefix, app, sms)
    finally:
        smtp.stop()
        gateway.should_exit = True
        await gateway_task


async def test_a_consenting_subject_gets_the_email_once_with_its_idempotency_key(
    harness: Harness,
) -> None:
    subject = uuid.uuid4()
    await harness.state(subject, 1, ConsentStatus.GRANTED)
    await eventually(lambda: _allowed(harness, subject))
    response = await harness.send(subject)
    assert response.status_code == 202, response.text
    message_id = response.json()["id"]

    async def sent() -> bool:
        return await harness.status(message_id) == "sent"

    await eventually(sent)
    assert len(harness.mailbox.messages) == 1
    assert message_id in harness.mailbox.messages[0].content.decode()


async def _allowed(harness: Harness, subject: uuid.UUID) -> bool:
    return bool(harness.view().allowed(subject, "email-marketing", channel="email"))


async def test_a_send_right_after_a_withdrawal_is_never_sent(harness: Harness) -> None:
    subject = uuid.uuid4()
    await harness.state(subject, 1, ConsentStatus.GRANTED)
    await eventually(lambda: _allowed(harness, subject))
    await harness.state(subject, 2, ConsentStatus.WITHDRAWN)  # the withdrawal is published...
    response = await harness.send(subject)  # ...and the send asked for at once
    if response.status_code == 202:  # the view had not seen it yet: queued, then refused
        message_id = response.json()["id"]

        async def refused() -> bool:
            return await harness.status(message_id) == "refused"

        await eventually(refused)
    else:
        assert response.status_code == 409
    # A sentinel: the subject consents again and a later send goes out; the refused one,
    # requested earlier, never does.
    await harness.state(subject, 3, ConsentStatus.GRANTED)
    await eventually(lambda: _allowed(harness, subject))
    sentinel = await harness.send(subject)
    assert sentinel.status_code == 202, sentinel.text

    async def sentinel_sent() -> bool:
        return await harness.status(sentinel.json()["id"]) == "sent"

    await eventually(sentinel_sent)
    assert len(harness.mailbox.messages) == 1
    assert sentinel.json()["id"] in harness.mailbox.messages[0].content.decode()


async def test_unknown_subjects_and_suppressed_channels_are_refused(harness: Harness) -> None:
    unknown = await harness.send(uuid.uuid4())
    assert unknown.status_code == 409
    assert unknown.json()["type"].endswith("/marketing-not-allowed")

    subject = uuid.uuid4()
    await harness.state(subject, 1, ConsentStatus.GRANTED)
    await eventually(lambda: _allowed(harness, subject))
    withdrawal = ConsentWithdrawn(
        subject_id=subject,
        version=2,
        purpose="email-marketing",
        purpose_version=1,
        channel="email",
        status=ConsentStatus.WITHDRAWN,
        collected_via=CollectionMethod.WEB,
        occurred_at=datetime.now(UTC),
        entry_hash="0" * 64,
    )
    await publish_event(
        harness.bootstrap,
        CloudEvent.wrap(withdrawal, source="/ciam/consent"),
        prefix=harness.prefix,
    )

    async def suppressed() -> bool:
        response = await harness.send(subject)
        return response.status_code == 409 and "suppressed" in response.json()["detail"]

    await eventually(suppressed)
    # The withdrawal named the email channel: SMS for the same purpose still goes out.
    sms = await harness.send(subject, channel="sms")
    assert sms.status_code == 202, sms.text

    async def texted() -> bool:
        return len(harness.sms.received) == 1

    await eventually(texted)
    assert harness.sms.received[0][0] == f"message-{sms.json()['id']}"  # the idempotency key


async def test_while_the_consent_view_lags_a_send_is_held_not_sent(harness: Harness) -> None:
    subject = uuid.uuid4()
    await harness.state(subject, 1, ConsentStatus.GRANTED)
    await eventually(lambda: _allowed(harness, subject))
    await harness.view().stop()  # the view falls behind: it reads nothing more
    response = await harness.send(subject)
    assert response.status_code == 202
    message_id = response.json()["id"]

    async def held() -> bool:
        return await harness.status(message_id) == "held"

    await eventually(held)
    # A sentinel: a later send is held too, so the worker's round has looked at the earlier
    # one again (rounds take the due messages oldest first) and still held it.
    later = await harness.send(subject)
    assert later.status_code == 202, later.text

    async def later_held() -> bool:
        return await harness.status(later.json()["id"]) == "held"

    await eventually(later_held)
    assert await harness.status(message_id) == "held"
    assert harness.mailbox.messages == []


async def test_an_address_that_would_inject_smtp_commands_fails_and_sends_nothing(
    harness: Harness,
) -> None:
    subject = uuid.uuid4()
    await harness.state(subject, 1, ConsentStatus.GRANTED)
    await eventually(lambda: _allowed(harness, subject))
    response = await harness.client.post(
        "/v1/messages",
        json={
            "subject_id": str(subject),
            "purpose": "email-marketing",
            "channel": "email",
            "to": "ada@example.com>\r\nRCPT TO:<eve@example.com",
            "body": "50% off",
        },
        headers=harness.headers(),
    )
    assert response.status_code == 202, response.text

    async def failed() -> bool:
        return await harness.status(response.json()["id"]) == "failed"

    await eventually(failed)
    assert harness.mailbox.messages == []


async def test_an_app_may_only_send_marketing_for_a_purpose_it_declares(harness: Harness) -> None:
    await register_app(harness.bootstrap, "shop-backend", ["sms-marketing"], prefix=harness.prefix)
    apps = harness.app.state.runtime.parts.apps

    async def narrowed() -> bool:
        return bool(apps.get("shop-backend").purposes == ["sms-marketing"])

    await eventually(narrowed)
    response = await harness.send(uuid.uuid4())
    assert response.status_code == 403
    assert response.json()["type"].endswith("/purpose-not-declared")
    assert response.json()["purpose"] == "email-marketing"
