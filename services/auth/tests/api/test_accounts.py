"""Registration over HTTP against real PostgreSQL, Redis and Kafka."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_auth.main import create_app
from ciam_auth.models import Account, outbox
from ciam_auth.settings import AuthSettings
from ciam_shared.db import create_engine
from ciam_shared.testing.plugin import running, settings_kwargs


@pytest.fixture
async def auth(
    fresh_database, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine]]:
    url = await fresh_database("ciam_auth.migrations")
    settings = AuthSettings(
        key_encryption_secret=secrets.token_urlsafe(32),
        **settings_kwargs(url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=topic_prefix),
    )
    engine = create_engine(url)
    async with running(create_app(settings)) as client:
        yield client, engine
    await engine.dispose()


async def count(engine: AsyncEngine, what: object) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(what)) or 0)  # type: ignore[arg-type]


async def test_registration_stores_an_argon2id_hash_and_stages_the_event(auth) -> None:
    client, engine = auth
    response = await client.post(
        "/v1/accounts", json={"email": "Ada@Example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 201, response.text
    subject_id = response.json()["subject_id"]
    async with engine.connect() as connection:
        account = (await connection.execute(select(Account.__table__))).one()
        staged = (await connection.execute(select(outbox))).one()
    assert account.email == "ada@example.com"
    assert account.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PasswordHasher().verify(account.password_hash, "correct horse battery")
    assert staged.key == subject_id
    assert staged.event_type == "dev.ciam.identity.user.registered.v1"
    assert staged.topic.endswith("ciam.identity.events")


async def test_a_second_registration_of_an_address_is_refused_and_writes_nothing(auth) -> None:
    client, engine = auth
    body = {"email": "twice@example.com", "password": "correct horse battery"}
    assert (await client.post("/v1/accounts", json=body)).status_code == 201
    again = await client.post("/v1/accounts", json=body | {"email": "TWICE@example.com"})
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert await count(engine, Account.__table__) == 1
    assert await count(engine, outbox) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": "correct horse battery"},
        {"email": "short@example.com", "password": "1234567"},
        {"email": "extra@example.com", "password": "correct horse battery", "admin": True},
        {},
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(auth, body: dict[str, object]) -> None:
    client, engine = auth
    response = await client.post("/v1/accounts", json=body)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation")
    assert await count(engine, Account.__table__) == 0
    assert await count(engine, outbox) == 0


async def test_the_service_is_ready_and_documents_its_topics(auth) -> None:
    client, _ = auth
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "kafka": "ok"}
    spec = (await client.get("/asyncapi")).json()
    assert spec["asyncapi"].startswith("3.")
    assert any(ch["address"].endswith("ciam.identity.events") for ch in spec["channels"].values())
    metrics = await client.get("/metrics")
    assert "ciam_http_requests_total" in metrics.text
