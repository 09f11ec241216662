"""Fixtures of the profile service's tests: the app on real PostgreSQL, Redis and Kafka, with
the purpose catalogue and consent states published on the topics as the consent service
would publish them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_devtools.testing.apps import delete_app, register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, running, settings_kwargs
from ciam_profile.auth import ADMIN, READ, TRACK, WRITE
from ciam_profile.main import create_app
from ciam_profile.models import outbox
from ciam_profile.settings import ProfileSettings
from ciam_shared.db import create_engine
from ciam_shared.events import (
    BrandAppRegistered,
    CloudEvent,
    ConsentState,
    ConsentStateItem,
    ConsentStatus,
    PurposeDefined,
    UserDeleted,
    UserRegistered,
)
from ciam_shared.topics import ALL_TOPICS, CONSENT_STATE, Topic, ensure_topics

# The brand apps the tests' app tokens name, registered at "auth" (its apps topic) before the
# service starts, with no purposes (a test declares them): the profile service refuses a token
# of an app it does not know.
APPS = ("shop-web", "loyalty", "reader", "undeclared")

# The purposes the tests use, as the consent service's catalogue.json defines them.
CATALOGUE = {
    "analytics": ("dpv:Consent", ["behavioural"]),
    "personalisation": ("dpv:Consent", ["descriptive", "attitudinal", "behavioural"]),
    "email-marketing": ("dpv:Consent", ["identity", "attitudinal"]),
    "order-fulfilment": ("dpv:Contract", ["identity", "descriptive"]),
}


def purpose_events() -> list[CloudEvent[PurposeDefined]]:
    return [
        CloudEvent.wrap(
            PurposeDefined(
                purpose_id=pid,
                legal_basis=basis,
                data_categories=kinds,
                channels=[],
                sale_or_share=False,
                current_version=1,
                min_valid_version=1,
                defined_at=datetime.now(UTC),
            ),
            source="/ciam/consent",
        )
        for pid, (basis, kinds) in CATALOGUE.items()
    ]


@dataclass
class ProfileApi:
    client: httpx.AsyncClient
    engine: AsyncEngine
    redis: aioredis.Redis
    issuer: TokenIssuer
    settings: ProfileSettings
    kafka: str
    app_under_test: Any
    versions: dict[uuid.UUID, int] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return self.settings.topic_prefix

    def customer(self, subject: uuid.UUID) -> dict[str, str]:
        """The customer on auth's own pages: every customer scope."""
        return _bearer(self.issuer.customer_token(str(subject)))

    def through(self, client_id: str, subject: uuid.UUID, scopes: Sequence[str]) -> dict[str, str]:
        """The customer's token held by a third-party app (authorization code)."""
        return _bearer(self.issuer.customer_token(str(subject), client_id=client_id, scopes=scopes))

    def app(
        self,
        client_id: str = "shop-web",
        *,
        brand: str | None = "acme",
        scopes: Sequence[str] = (READ, WRITE, TRACK),
    ) -> dict[str, str]:
        return _bearer(self.issuer.app_token(client_id, brand=brand, scopes=tuple(scopes)))

    def admin(self) -> dict[str, str]:
        return _bearer(self.issuer.app_token("ops", scopes=(ADMIN,)))

    async def register(self, subject: uuid.UUID | None = None) -> uuid.UUID:
        """A customer registers (auth's UserRegistered); returns once the profile exists."""
        subject = subject or uuid.uuid4()
        event = CloudEvent.wrap(
            UserRegistered(subject_id=subject, registered_at=datetime.now(UTC)), source="/tests"
        )
        await publish_event(self.kafka, event, prefix=self.prefix)

        async def exists() -> bool:
            r = await self.client.get(f"/v1/profiles/{subject}", headers=self.admin())
            return r.status_code == 200

        await eventually(exists)
        return subject

    async def declare(self, client_id: str, purposes: list[str]) -> None:
        """Register a brand app as the auth service does (its compacted apps topic), and wait
        until the profile service's app view knows it."""
        now = datetime.now(UTC)
        registered = BrandAppRegistered(
            client_id=client_id, name=client_id, brand="acme", purposes=purposes,
            scopes=[READ, WRITE, TRACK], first_party=True, registered_at=now, updated_at=now,
        )  # fmt: skip
        await publish_event(
            self.kafka, CloudEvent.wrap(registered, source="/ciam/auth"), prefix=self.prefix
        )
        apps = self.app_under_test.state.runtime.parts.apps

        async def known() -> bool:
            return bool(apps.purposes_of(client_id) == frozenset(purposes))

        await eventually(known)

    async def delete_app(self, client_id: str) -> None:
        """Auth deletes the app; returns once the profile service's app view forgot it."""
        await delete_app(self.kafka, client_id, prefix=self.prefix)
        apps = self.app_under_test.state.runtime.parts.apps

        async def gone() -> bool:
            return apps.get(client_id) is None

        await eventually(gone)

    async def consents(self, subject: uuid.UUID, **statuses: ConsentStatus) -> None:
        """Publish the subject's whole consent state, as the consent service does after a
        change (keyword names use _ for -)."""
        version = self.versions.get(subject, 0) + 1
        self.versions[subject] = version
        now = datetime.now(UTC)
        state = ConsentState(
            subject_id=subject,
            version=version,
            updated_at=now,
            consents=[
                ConsentStateItem(
                    purpose=name.replace("_", "-"),
                    purpose_version=1,
                    status=status,
                    version=version,
                    updated_at=now,
                )
                for name, status in statuses.items()
            ],
        )
        await publish_event(
            self.kafka, CloudEvent.wrap(state, source="/ciam/consent"), prefix=self.prefix
        )

    @property
    def parts(self) -> Any:
        return self.app_under_test.state.runtime.parts

    async def erase(self, subject: uuid.UUID) -> None:
        """The account is deleted (auth's UserDeleted), then the consent service tombstones
        the subject's consent state, as it does on the same event."""
        deleted = UserDeleted(subject_id=subject, deleted_at=datetime.now(UTC))
        await publish_event(
            self.kafka, CloudEvent.wrap(deleted, source="/tests"), prefix=self.prefix
        )
        await publish_tombstone(self.kafka, CONSENT_STATE.name(self.prefix), str(subject))

    async def count(self, table: Any, **where: Any) -> int:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        async with self.engine.connect() as connection:
            return int(await connection.scalar(query) or 0)

    async def outbox_types(self) -> list[str]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(outbox.c.event_type).order_by(outbox.c.seq))
            return [r.event_type for r in rows]


async def publish_tombstone(bootstrap: str, topic: str, key: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=None, key=key.encode())
    finally:
        await producer.stop()


async def compacted_records(
    bootstrap: str, topic: Topic, prefix: str, key: str
) -> list[bytes | None]:
    """The values of every record of `key` on a topic, oldest first (None: a tombstone)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic.name(prefix), p) for p in range(topic.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[bytes | None] = []
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                values.extend(r.value for r in records if r.key == key.encode())
                if records and records[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        return values
    finally:
        await consumer.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def profile_settings(
    url: str, kafka: str, redis: str, prefix: str, issuer: TokenIssuer, **extra: Any
) -> ProfileSettings:
    return ProfileSettings(
        **settings_kwargs(url, kafka=kafka, redis=redis, topic_prefix=prefix, token_issuer=issuer),
        **extra,
    )


@pytest.fixture
def profile_api_with(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> Callable[..., AbstractAsyncContextManager[ProfileApi]]:
    """`async with profile_api_with(**settings) as api`: the service with extra settings."""

    @asynccontextmanager
    async def start(**extra: Any) -> AsyncIterator[ProfileApi]:
        url = await fresh_database("ciam_profile.migrations")
        settings = profile_settings(
            url, kafka_bootstrap, redis_url, topic_prefix, token_issuer, **extra
        )
        await ensure_topics(kafka_bootstrap, ALL_TOPICS, prefix=topic_prefix)
        for event in purpose_events():
            await publish_event(kafka_bootstrap, event, prefix=topic_prefix)
        for client_id in APPS:
            await register_app(kafka_bootstrap, client_id, [], prefix=topic_prefix)
        engine = create_engine(url)
        redis = aioredis.from_url(redis_url)
        app = create_app(settings)
        try:
            async with running(app) as client:
                yield ProfileApi(
                    client, engine, redis, token_issuer, settings, kafka_bootstrap, app
                )
        finally:
            await redis.aclose()
            await engine.dispose()

    return start


@pytest.fixture
async def profile_api(
    profile_api_with: Callable[..., AbstractAsyncContextManager[ProfileApi]],
) -> AsyncIterator[ProfileApi]:
    async with profile_api_with() as api:
        yield api


@pytest.fixture
def read_topic() -> Any:
    """`await read_topic(topic, key)`: every value of `key` on a topic (None: a tombstone)."""
    return compacted_records
