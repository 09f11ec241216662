"""The auth service under test: real PostgreSQL, Redis and Kafka, and a real SMTP server
(aiosmtpd) that keeps every mail it receives; `stack` runs several instances on one database
(a restart, replicas)."""

from __future__ import annotations

import email
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_auth.context import AuthContext
from ciam_auth.main import create_app
from ciam_auth.models import AccountJob, OutgoingMail, outbox
from ciam_auth.settings import AuthSettings
from ciam_devtools.devstack import free_port
from ciam_devtools.testing.plugin import eventually, running, settings_kwargs
from ciam_shared.db import create_engine

PASSWORD = "correct horse battery staple"


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, count: int = 1) -> Message:
        async def arrived() -> list[Message] | None:
            found = self.to(address)
            return found if len(found) >= count else None

        return (await eventually(arrived))[count - 1]


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def token_in(message: Message) -> str:
    found = re.search(r"token=([A-Za-z0-9_-]+)", body_of(message))
    assert found, body_of(message)
    return found.group(1)


def code_in(message: Message) -> str:
    found = re.search(r"\b(\d{6})\b", body_of(message))
    assert found, body_of(message)
    return found.group(1)


@pytest.fixture
def mailbox() -> Any:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class Auth:
    client: httpx.AsyncClient
    app: Any
    engine: AsyncEngine
    mailbox: Mailbox
    prefix: str

    @property
    def ctx(self) -> AuthContext:
        context: AuthContext = self.app.state.runtime.parts.context
        return context

    def other_client(
        self, address: str, user_agent: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
    ) -> httpx.AsyncClient:
        """Another client (address, cookie jar) on the same running app."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return httpx.AsyncClient(
            transport=transport, base_url="https://testserver", headers={"user-agent": user_agent}
        )

    async def register(self, address: str, password: str = PASSWORD) -> Message:
        response = await self.client.post(
            "/v1/accounts", json={"email": address, "password": password}
        )
        assert response.status_code == 202, response.text
        return await self.mailbox.wait_for(address)

    async def verified_account(self, address: str, password: str = PASSWORD) -> str:
        mail = await self.register(address, password)
        response = await self.client.post("/v1/email-verifications", json={"token": token_in(mail)})
        assert response.status_code == 200, response.text
        return str(response.json()["subject_id"])

    async def staged(self) -> list[Any]:
        async with self.engine.connect() as connection:
            return list((await connection.execute(select(outbox).order_by(outbox.c.seq))).all())


def auth_settings(
    url: str, kafka: str, redis: str, prefix: str, smtp_port: int, **extra: Any
) -> AuthSettings:
    return AuthSettings(
        **settings_kwargs(url, kafka=kafka, redis=redis, topic_prefix=prefix),
        smtp_port=smtp_port,
        public_url="http://auth.test",
        **({"key_encryption_secret": secrets.token_urlsafe(32)} | extra),
    )


@pytest.fixture
def auth_overrides() -> dict[str, Any]:
    """Settings a test module overrides (e.g. short throttle delays)."""
    return {}


@pytest.fixture
async def auth(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    mailbox: Mailbox,
    auth_overrides: dict[str, Any],
) -> AsyncIterator[Auth]:
    url = await fresh_database("ciam_auth.migrations")
    settings = auth_settings(
        url, kafka_bootstrap, redis_url, topic_prefix, mailbox.port, **auth_overrides
    )
    engine = create_engine(url)
    app = create_app(settings)
    async with running(app) as client:
        # Cookies are Secure outside development: the client must speak https to get them back.
        client.base_url = httpx.URL("https://testserver")
        client.headers["user-agent"] = "Mozilla/5.0 (Windows NT 10.0) Chrome/141.0 Safari/537.36"
        harness = Auth(client, app, engine, mailbox, topic_prefix)
        yield harness

        async def jobs_done() -> bool:
            return await harness.ctx.jobs.idle()

        await eventually(jobs_done)  # no job left writing while the app stops
    await engine.dispose()


@dataclass
class Instance:
    client: httpx.AsyncClient
    ctx: AuthContext


Launch = Callable[..., AbstractAsyncContextManager[Instance]]


@dataclass
class Stack:
    url: str
    kafka: str
    redis: str
    prefix: str
    engine: AsyncEngine
    # One for every instance: they read each other's sealed signing keys.
    key_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @asynccontextmanager
    async def instance(self, smtp_port: int, **extra: Any) -> AsyncIterator[Instance]:
        """An auth app on the shared database; fast polls and retries unless told otherwise."""
        options: dict[str, Any] = {
            "queue_poll_seconds": 0.1,
            "mail_retry_base_seconds": 0.1,
            "job_retry_base_seconds": 0.05,
            "key_encryption_secret": self.key_secret,
        }
        settings = auth_settings(
            self.url, self.kafka, self.redis, self.prefix, smtp_port, **(options | extra)
        )
        app = create_app(settings)
        async with running(app) as client:
            instance = Instance(client, app.state.runtime.parts.context)
            yield instance
            if settings.queue_workers_enabled:

                async def jobs_done() -> bool:
                    return await instance.ctx.jobs.idle()

                await eventually(jobs_done)  # no job left writing while the app stops

    async def waiting_mail(self) -> list[Any]:
        async with self.engine.connect() as connection:
            return list((await connection.execute(select(OutgoingMail))).all())

    async def waiting_jobs(self) -> list[Any]:
        async with self.engine.connect() as connection:
            return list((await connection.execute(select(AccountJob))).all())

    async def mail_count(self) -> int:
        async with self.engine.connect() as connection:
            count = await connection.scalar(select(func.count()).select_from(OutgoingMail))
            return int(count or 0)


@pytest.fixture
async def stack(
    fresh_database: Any, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> AsyncIterator[Stack]:
    url = await fresh_database("ciam_auth.migrations")
    engine = create_engine(url)
    try:
        yield Stack(url, kafka_bootstrap, redis_url, topic_prefix, engine)
    finally:
        await engine.dispose()
