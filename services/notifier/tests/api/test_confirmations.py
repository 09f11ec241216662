"""Confirmation emails of consent changes: the address comes from the real auth service
(its code, a fresh database, served on a loopback port), asked with the notifier's own
client credentials; a real SMTP server (aiosmtpd) receives the emails; real Kafka and
PostgreSQL underneath."""

from __future__ import annotations

import email
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.policy import default as default_policy
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiosmtpd.controller import Controller
from sqlalchemy import select

from ciam_auth.main import create_app as create_auth
from ciam_auth.sessions.store import COOKIE as SESSION_COOKIE
from ciam_auth.settings import AuthSettings
from ciam_devtools.devstack import free_port
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, running, settings_kwargs
from ciam_devtools.testing.servers import LoopbackServer
from ciam_notifier.main import create_app
from ciam_notifier.models import Message
from ciam_notifier.settings import NotifierSettings
from ciam_shared.events import (
    CHANGE_EVENTS,
    CloudEvent,
    CollectionMethod,
    ConsentStatus,
    UserRegistered,
    decode,
)
from ciam_shared.topics import ALL_TOPICS, IDENTITY_EVENTS, ensure_topics


@dataclass
class Mailbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


SERVICE_CLIENT = {
    "client_id": "svc-notifier",
    "secret": secrets.token_urlsafe(32),
    "scopes": ["auth:contacts"],
}


PASSWORD = "correct horse battery staple"


class AuthServer(LoopbackServer):
    """The auth service's own app on a loopback port; stop and start it again at will.
    Accounts are made and deleted through its API, as customers do: its mail (the codes)
    goes to a mailbox of its own, apart from the notifier's."""

    def __init__(self, settings: AuthSettings, port: int, mailbox: Mailbox) -> None:
        super().__init__(lambda: create_auth(settings), port)
        self.settings = settings
        self.mailbox = mailbox

    async def account(self, *, verified: bool = True) -> tuple[uuid.UUID, str]:
        """A customer account registered through the API, its address confirmed with the link
        from its mail unless told otherwise (then its id is read from auth's UserRegistered)."""
        address = f"{secrets.token_hex(4)}@example.com"
        known = set() if verified else await self.registered()
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.post(
                "/v1/accounts", json={"email": address, "password": PASSWORD}
            )
            assert response.status_code == 202, response.text
            mail = await eventually(lambda: self._mail_to(address))
            if verified:
                response = await client.post(
                    "/v1/email-verifications", json={"token": _token_in(mail)}
                )
                assert response.status_code == 200, response.text
                return uuid.UUID(response.json()["subject_id"]), address

        async def new_registration() -> set[uuid.UUID]:
            return (await self.registered()) - known

        (subject,) = await eventually(new_registration)
        return subject, address

    async def erase(self, subject: uuid.UUID, address: str) -> None:
        """The customer deletes the account: signed in, confirmed with the password."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            signed_in = await client.post(
                "/v1/sessions", json={"email": address, "password": PASSWORD}
            )
            assert signed_in.status_code == 200, signed_in.text
            assert signed_in.json()["subject_id"] == str(subject)
            # The cookie is `Secure` outside development; this loopback is plain HTTP.
            cookie = next(
                c.split(";")[0]
                for c in signed_in.headers.get_list("set-cookie")
                if c.startswith(f"{SESSION_COOKIE}=")
            )
            deleted = await client.request(
                "DELETE", "/v1/me", json={"password": PASSWORD}, headers={"cookie": cookie}
            )
            assert deleted.status_code == 204, deleted.text

    async def _mail_to(self, address: str) -> email.message.EmailMessage | None:
        found = self.mailbox.to(address)
        return found[0] if found else None

    async def registered(self) -> set[uuid.UUID]:
        """Every subject auth announced as registered on its identity topic so far."""
        settings = self.settings
        topic = IDENTITY_EVENTS.name(settings.topic_prefix)
        partitions = [TopicPartition(topic, p) for p in range(IDENTITY_EVENTS.partitions)]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            found: set[uuid.UUID] = set()
            while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    for record in records:
                        event = decode(dict(record.headers), record.value)
                        if isinstance(event.data, UserRegistered):
                            found.add(event.data.subject_id)
            return found
        finally:
            await consumer.stop()


def _token_in(message: email.message.EmailMessage) -> str:
    found = re.search(r"token=([A-Za-z0-9_-]+)", message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert found, message
    return found.group(1)


@dataclass
class Rig:
    auth: AuthServer
    mailbox: Mailbox
    bootstrap: str
    prefix: str
    notifier: Callable[..., Any]
    secret: str

    async def change(
        self, subject: uuid.UUID, status: ConsentStatus, **extra: Any
    ) -> CloudEvent[Any]:
        data = CHANGE_EVENTS[status](
            subject_id=subject,
            version=extra.pop("version", 2),
            purpose="email-marketing",
            purpose_version=1,
            status=status,
            collected_via=CollectionMethod.WEB,
            occurred_at=datetime.now(UTC),
            entry_hash="0" * 64,
            **extra,
        )
        event = CloudEvent.wrap(data, source="/ciam/consent")
        await publish_event(self.bootstrap, event, prefix=self.prefix)
        return event


async def confirmations_of(app: Any, subject: uuid.UUID) -> list[Message]:
    async with app.state.runtime.sessions() as session:
        rows = await session.scalars(
            select(Message).where(Message.subject_id == subject, Message.kind == "confirmation")
        )
        return list(rows)


def status_is(app: Any, subject: uuid.UUID, status: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        rows = await confirmations_of(app, subject)
        return len(rows) == 1 and rows[0].status == status

    return probe


@pytest.fixture
async def rig(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Rig]:
    await ensure_topics(kafka_bootstrap, ALL_TOPICS, prefix=topic_prefix)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    auth_mailbox = Mailbox()
    auth_smtp = Controller(auth_mailbox, hostname="127.0.0.1", port=free_port())
    auth_smtp.start()
    port = free_port()
    auth = AuthServer(
        AuthSettings(
            issuer=f"http://127.0.0.1:{port}",
            key_encryption_secret=secrets.token_urlsafe(32),
            smtp_host="127.0.0.1",
            smtp_port=auth_smtp.port,
            # The service's own client, declared as an operator does (AUTH_SERVICE_CLIENTS).
            service_clients=[SERVICE_CLIENT],
            **settings_kwargs(
                await fresh_database("ciam_auth.migrations"),
                kafka=kafka_bootstrap,
                redis=redis_url,
                topic_prefix=topic_prefix,
            ),
        ),
        port,
        auth_mailbox,
    )
    await auth.start()
    client_id, secret = (SERVICE_CLIENT["client_id"], SERVICE_CLIENT["secret"])
    notifier_db = await fresh_database("ciam_notifier.migrations")

    @asynccontextmanager
    async def notifier(**overrides: Any) -> AsyncIterator[Any]:
        settings = NotifierSettings(
            **settings_kwargs(
                notifier_db,
                kafka=kafka_bootstrap,
                redis=redis_url,
                topic_prefix=topic_prefix,
                token_issuer=token_issuer,
            ),
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            message_poll_seconds=0.1,
            auth_url=auth.url,
            auth_client_id=client_id,
            auth_client_secret=secret,
            **overrides,
        )
        app = create_app(settings)
        async with running(app):
            yield app

    try:
        yield Rig(auth, mailbox, kafka_bootstrap, topic_prefix, notifier, secret)
    finally:
        await auth.stop()
        smtp.stop()
        auth_smtp.stop()


async def test_a_withdrawal_is_confirmed_to_the_customer_once(rig: Rig) -> None:
    subject, address = await rig.auth.account()
    async with rig.notifier() as app:
        withdrawal = await rig.change(subject, ConsentStatus.WITHDRAWN, channel="email")
        await eventually(status_is(app, subject, "sent"))
        # The same change again (a redelivery after a crash): it is queued once only.
        await publish_event(rig.bootstrap, withdrawal, prefix=rig.prefix)
        granted = await rig.change(subject, ConsentStatus.GRANTED, version=3)

        async def two() -> bool:
            rows = await confirmations_of(app, subject)
            return len(rows) == 2 and all(r.status == "sent" for r in rows)

        await eventually(two)
        rows = await confirmations_of(app, subject)
    received = rig.mailbox.to(address)
    assert len(received) == 2
    assert {m["Message-ID"] for m in received} == {
        f"<confirmation-{withdrawal.id}-email-{subject}@ciam.local>",
        f"<confirmation-{granted.id}-email-{subject}@ciam.local>",
    }
    bodies = sorted(m.get_content() for m in received)  # type: ignore[attr-defined]
    assert any("You will no longer receive “email-marketing” (email)" in b for b in bodies)
    assert any("You agreed to “email-marketing”" in b for b in bodies)
    assert all(r.recipient is None for r in rows)  # the address is never stored


async def test_a_confirmation_waits_while_auth_is_down_and_is_sent_once_after(rig: Rig) -> None:
    subject, address = await rig.auth.account()
    async with rig.notifier() as app:
        await rig.auth.stop()
        await rig.change(subject, ConsentStatus.WITHDRAWN)

        async def retrying() -> bool:
            rows = await confirmations_of(app, subject)
            return bool(rows) and rows[0].status == "queued" and rows[0].attempts >= 1

        await eventually(retrying)
        assert rig.mailbox.to(address) == []
        await rig.auth.start()
        await eventually(status_is(app, subject, "sent"), timeout=60)
    received = rig.mailbox.to(address)
    assert len(received) == 1
    body = received[0].get_content()  # type: ignore[attr-defined]
    assert "You will no longer receive “email-marketing” (any channel)" in body


async def test_no_confirmation_for_a_deleted_account(rig: Rig) -> None:
    subject, address = await rig.auth.account()
    await rig.auth.erase(subject, address)
    async with rig.notifier() as app:
        await rig.change(subject, ConsentStatus.WITHDRAWN)
        await eventually(status_is(app, subject, "cancelled"))
        (row,) = await confirmations_of(app, subject)
    assert row.reason == "the account no longer exists"
    assert rig.mailbox.to(address) == []


async def test_an_unverified_address_gets_no_confirmation_by_default(rig: Rig) -> None:
    subject, address = await rig.auth.account(verified=False)
    async with rig.notifier(confirm_unverified=False) as app:
        await rig.change(subject, ConsentStatus.WITHDRAWN)
        await eventually(status_is(app, subject, "cancelled"))
        (row,) = await confirmations_of(app, subject)
    assert row.reason == "the address is not verified"
    assert rig.mailbox.to(address) == []


async def test_the_notifier_token_for_auth_is_fetched_once_and_reused(rig: Rig) -> None:
    first, _ = await rig.auth.account()
    second, _ = await rig.auth.account()
    async with rig.notifier() as app:
        contacts = app.state.runtime.parts.messages.contacts
        await rig.change(first, ConsentStatus.WITHDRAWN)
        await eventually(status_is(app, first, "sent"))
        token = contacts.credentials.cached_token
        assert token is not None
        await rig.change(second, ConsentStatus.WITHDRAWN)
        await eventually(status_is(app, second, "sent"))
        assert contacts.credentials.cached_token == token
        assert rig.secret not in repr(contacts)
        assert rig.secret not in repr(contacts.credentials)
