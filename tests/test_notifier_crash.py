"""The notifier killed mid-delivery: after restart nothing is lost and no email is sent twice.

The notifier runs as its own process; a real SMTP server (aiosmtpd) and a local SMS gateway
(which honours Idempotency-Key, as real gateways do) receive a burst of marketing messages.
The process is SIGKILLed three times, each at a chosen point of the protocol, so the test is
deterministic: the notifier sends one message at a time, so when the SMTP server or the
gateway is inside its handler, that one message is the only one in flight.

1. the gateway has taken an SMS but not answered: the notifier's claim is still `claimed`;
   after restart it is sent again with the same key, and the gateway does not send it twice;
2. the SMTP server has read the final dot of an email but not answered: `handed_over`; after
   restart it is counted sent (unconfirmed) and never sent again;
3. the SMTP server is answering RCPT: `claimed`, no dot; after restart it is sent once.

The consumer side (offsets committed after the effect, never FastStream's default ACK_FIRST)
has its own crash test and control, which shows ACK_FIRST losing a record:
shared/tests/test_ack_policy.py.
"""

from __future__ import annotations

import asyncio
import email
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.apps import register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import ServiceProcess, eventually
from ciam_shared.events import CloudEvent, ConsentState, ConsentStateItem, ConsentStatus, encode
from ciam_shared.topics import ALL_TOPICS, CONSENT_STATE, ensure_topics

pytestmark = pytest.mark.e2e

EMAILS, TEXTS = 45, 15
KILL_AT_SMS, KILL_AT_DATA, KILL_AT_RCPT = 5, 15, 30  # distinct messages seen by then


@dataclass
class Crashes:
    """Kills the notifier from inside a receiver's handler, once per point."""

    service: ServiceProcess | None = None
    done: list[str] = field(default_factory=list)

    def kill(self, point: str) -> None:
        # Synchronous: the receiver's connection drops with the process, and its server
        # cancels an awaiting handler at once.
        assert self.service is not None
        self.service.kill()
        self.done.append(point)


@dataclass
class Mailbox:
    """aiosmtpd handler: counts each Message-ID it accepted (the end of DATA)."""

    crashes: Crashes
    # The first transaction waits until the whole burst is queued (set from the test's loop,
    # read in the SMTP server's thread).
    released: threading.Event = field(default_factory=threading.Event)
    ids: Counter[str] = field(default_factory=Counter)
    rcpts: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        await asyncio.to_thread(self.released.wait, 60)
        self.rcpts += 1
        envelope.rcpt_tos.append(address)
        if len(self.ids) >= KILL_AT_RCPT and "rcpt" not in self.crashes.done:
            self.crashes.kill("rcpt")
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message_id = str(email.message_from_bytes(envelope.content)["Message-ID"])
        self.ids[message_id] += 1
        if len(self.ids) == KILL_AT_DATA and "data" not in self.crashes.done:
            self.crashes.kill("data")
        return "250 OK"


@dataclass
class Gateway:
    """An SMS gateway honouring Idempotency-Key: a repeated key is answered, not sent."""

    crashes: Crashes
    port: int = field(default_factory=free_port)
    sent: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        key = dict(scope["headers"]).get(b"idempotency-key", b"").decode()
        self.requests[key] += 1
        if key not in self.sent:
            self.sent[key] += 1
            if len(self.sent) == KILL_AT_SMS and "sms" not in self.crashes.done:
                self.crashes.kill("sms")
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def publish_consents(bootstrap: str, prefix: str, subjects: list[uuid.UUID]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        now = datetime.now(UTC)
        for subject in subjects:
            item = ConsentStateItem(
                purpose="email-marketing",
                purpose_version=1,
                status=ConsentStatus.GRANTED,
                version=1,
                updated_at=now,
            )
            state = ConsentState(subject_id=subject, version=1, updated_at=now, consents=[item])
            key, value, headers = encode(CloudEvent.wrap(state, source="/ciam/consent"))
            await producer.send(
                CONSENT_STATE.name(prefix),
                value=value,
                key=key,
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
        await producer.flush()
    finally:
        await producer.stop()


@dataclass
class Rig:
    service: ServiceProcess
    mailbox: Mailbox
    gateway: Gateway
    crashes: Crashes
    headers: dict[str, str]
    restart: Callable[[], None]


@pytest.fixture
async def rig(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
    tmp_path: Path,
) -> AsyncIterator[Rig]:
    await ensure_topics(kafka_bootstrap, ALL_TOPICS, prefix=topic_prefix)
    crashes = Crashes()
    mailbox, gateway = Mailbox(crashes), Gateway(crashes)
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    server = uvicorn.Server(
        uvicorn.Config(
            gateway, host="127.0.0.1", port=gateway.port, log_level="error", lifespan="off"
        )
    )
    server_task = asyncio.create_task(server.serve())
    env = {
        "NOTIFIER_DATABASE_URL": await fresh_database("ciam_notifier.migrations"),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "CIAM_ENVIRONMENT": "test",
        "NOTIFIER_MIGRATE_ON_START": "false",
        "TOKEN_ISSUER": token_issuer.url,
        "NOTIFIER_SMTP_HOST": "127.0.0.1",
        "NOTIFIER_SMTP_PORT": str(smtp.port),
        "NOTIFIER_SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway.port}/sms",
        "NOTIFIER_SETTLE_SECONDS": "0.1",
        "NOTIFIER_MESSAGE_POLL_SECONDS": "0.1",
        "NOTIFIER_CLAIM_LEASE_SECONDS": "1",
    }
    # The brand app the test's token names, registered as auth would before the notifier starts.
    await register_app(
        kafka_bootstrap, "shop-backend", ["email-marketing", "sms-marketing"], prefix=topic_prefix
    )
    service = ServiceProcess("notifier", env, tmp_path).start()
    crashes.service = service
    headers = token_issuer.bearer(token_issuer.app_token("shop-backend", ttl=3600))
    try:
        yield Rig(service, mailbox, gateway, crashes, headers, service.start)
    finally:
        mailbox.released.set()
        service.stop()
        smtp.stop()
        server.should_exit = True
        await server_task


async def test_the_notifier_killed_mid_delivery_loses_nothing_and_sends_nothing_twice(
    rig: Rig, kafka_bootstrap: str, topic_prefix: str
) -> None:
    subjects = [uuid.uuid4() for _ in range(EMAILS)]
    await publish_consents(kafka_bootstrap, topic_prefix, subjects)
    ids: dict[str, str] = {}  # message id -> channel
    async with httpx.AsyncClient(base_url=rig.service.url, headers=rig.headers) as api:

        async def request(subject: uuid.UUID, channel: str) -> bool:
            body = {
                "subject_id": str(subject),
                "purpose": "email-marketing",
                "channel": channel,
                "to": "+48600100200" if channel == "sms" else f"{subject.hex[:8]}@example.com",
                "title": "Sale",
                "body": ".a line that needs dot-stuffing\nZażółć gęślą jaźń: 50% off",
            }
            response = await api.post("/v1/messages", json=body)
            if response.status_code == 202:
                ids[response.json()["id"]] = channel
            return response.status_code == 202  # 409 until the view has read the consent

        for n, subject in enumerate(subjects):
            await eventually(lambda s=subject: request(s, "email"))
            if n % 3 == 0:
                await eventually(lambda s=subject: request(s, "sms"))
        rig.mailbox.released.set()  # the whole burst is queued: let the first email through

        for point in ("sms", "data", "rcpt"):
            try:
                await eventually(lambda p=point: _done(rig, p), timeout=60)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {_progress(rig)}") from None
            rig.restart()

        async def all_sent() -> bool:
            statuses = [
                (await api.get(f"/v1/messages/{message_id}")).json()["status"] for message_id in ids
            ]
            return all(s == "sent" for s in statuses)

        await eventually(all_sent, timeout=90)
        unconfirmed = [
            body
            for message_id in ids
            if (body := (await api.get(f"/v1/messages/{message_id}")).json())["reason"]
        ]

    emails = {f"<message-{i}@ciam.local>" for i, channel in ids.items() if channel == "email"}
    texts = {f"message-{i}" for i, channel in ids.items() if channel == "sms"}
    assert len(emails) == EMAILS and len(texts) == TEXTS
    assert rig.crashes.done == ["sms", "data", "rcpt"]
    # Every email arrived, none twice.
    assert set(rig.mailbox.ids) == emails
    assert set(rig.mailbox.ids.values()) == {1}
    # Every SMS was sent once, and the one in flight at the kill was asked for again.
    assert set(rig.gateway.sent) == texts
    assert set(rig.gateway.sent.values()) == {1}
    assert max(rig.gateway.requests.values()) == 2
    # The email whose final dot the server had read when the notifier died: sent once,
    # recorded as unconfirmed (the notifier cannot know it arrived; it did).
    assert len(unconfirmed) == 1
    assert unconfirmed[0]["reason"].startswith("unconfirmed")


async def _done(rig: Rig, point: str) -> bool:
    return point in rig.crashes.done


def _progress(rig: Rig) -> str:
    return (
        f"kills {rig.crashes.done}, {len(rig.mailbox.ids)} emails, {rig.mailbox.rcpts} RCPT, "
        f"{len(rig.gateway.sent)} SMS; notifier log:\n{rig.service.log_tail()}"
    )
