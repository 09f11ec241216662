"""Live streams over a real HTTP server (uvicorn), fed from the real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.apps import delete_app, register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.settings import NotifierSettings
from ciam_shared.events import CloudEvent, CollectionMethod, ConsentStatus, ConsentWithdrawn
from ciam_shared.tokens.scopes import NOTIFIER_STREAM, NOTIFIER_WEBHOOKS


@pytest.fixture
async def notifier_url(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[tuple[str, TokenIssuer, str]]:
    url = await fresh_database("ciam_notifier.migrations")
    settings = NotifierSettings(
        **settings_kwargs(
            url,
            kafka=kafka_bootstrap,
            redis=redis_url,
            topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        ),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await eventually(started, timeout=60)
    try:
        yield f"http://127.0.0.1:{port}", token_issuer, url
    finally:
        server.should_exit = True
        await task


async def prune_upto(db_url: str, seq: int) -> None:
    """Delete stream events up to `seq`, as retention does with old ones."""
    from sqlalchemy import delete

    from ciam_notifier.models import StreamEvent
    from ciam_shared.db import create_engine

    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(delete(StreamEvent).where(StreamEvent.seq <= seq))
    finally:
        await engine.dispose()


def withdrawal(
    subject: uuid.UUID, version: int, purpose: str = "email-marketing"
) -> CloudEvent[ConsentWithdrawn]:
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
    return CloudEvent.wrap(data, source="/ciam/consent")


async def read_events(
    base: str,
    token: str,
    count: int,
    last_event_id: str | None = None,
    connected: asyncio.Event | None = None,
) -> list[dict[str, Any]]:
    """Open the stream, read `count` events, disconnect. `connected` is set once the stream's
    first frame (its `retry:` advice) has arrived: the server is then following changes."""
    headers = {"authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["last-event-id"] = last_event_id
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    url = f"{base}/v1/streams/consents"
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async with asyncio.timeout(20):
            async for line in response.aiter_lines():
                if connected is not None and line.startswith("retry: "):
                    connected.set()
                if line.startswith("id: "):
                    current["id"] = line[4:]
                elif line.startswith("event: "):
                    current["event"] = line[7:]
                elif line.startswith("data: "):
                    current["data"] = json.loads(line[6:])
                elif line == "" and "id" in current:
                    events.append(current)
                    current = {}
                    if len(events) == count:
                        break
    return events


async def test_a_stream_resumes_from_last_event_id_without_missing_a_change(
    notifier_url, kafka_bootstrap: str, topic_prefix: str
) -> None:
    base, issuer, _db_url = notifier_url
    app = issuer.app_token("shop-backend", ttl=600, scopes=(NOTIFIER_STREAM,))
    subject = uuid.uuid4()
    await publish_event(kafka_bootstrap, withdrawal(subject, 1), prefix=topic_prefix)
    first = await read_events(base, app, 1)
    assert first[0]["data"]["data"]["version"] == 1
    assert first[0]["event"] == "dev.ciam.consent.withdrawn.v1"

    # Disconnected: two changes happen meanwhile.
    for version in (2, 3):
        await publish_event(kafka_bootstrap, withdrawal(subject, version), prefix=topic_prefix)
    resumed = await read_events(base, app, 2, last_event_id=first[0]["id"])
    assert [e["data"]["data"]["version"] for e in resumed] == [2, 3]


async def test_a_live_change_arrives_while_connected_and_a_customer_sees_only_their_own(
    notifier_url, kafka_bootstrap: str, topic_prefix: str
) -> None:
    base, issuer, _db_url = notifier_url
    alice, bob = uuid.uuid4(), uuid.uuid4()
    connected = asyncio.Event()
    token = issuer.customer_token(str(alice))
    reader = asyncio.create_task(read_events(base, token, 1, connected=connected))
    async with asyncio.timeout(20):
        await connected.wait()
    await publish_event(kafka_bootstrap, withdrawal(bob, 1), prefix=topic_prefix)
    await publish_event(kafka_bootstrap, withdrawal(alice, 1), prefix=topic_prefix)
    events = await reader
    assert [e["data"]["data"]["subject_id"] for e in events] == [str(alice)]


async def test_a_stream_needs_a_token(notifier_url) -> None:
    base, _, _ = notifier_url
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base}/v1/streams/consents")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_resuming_from_beyond_the_retention_is_told_there_is_a_gap(
    notifier_url, kafka_bootstrap: str, topic_prefix: str
) -> None:
    base, issuer, db_url = notifier_url
    app = issuer.app_token("shop-backend", ttl=600, scopes=(NOTIFIER_STREAM,))
    subject = uuid.uuid4()
    for version in (1, 2, 3):
        await publish_event(kafka_bootstrap, withdrawal(subject, version), prefix=topic_prefix)
    events = await read_events(base, app, 3)
    # Retention removed the first two.
    await prune_upto(db_url, int(events[1]["id"]))
    headers = {"authorization": f"Bearer {app}", "last-event-id": events[0]["id"]}
    url = f"{base}/v1/streams/consents"
    seen: list[str] = []
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        async with asyncio.timeout(20):
            async for line in response.aiter_lines():
                seen.append(line)
                if line.startswith("id: "):
                    break
    assert "event: dev.ciam.notifier.stream.gap" in seen
    assert seen[-1] == f"id: {events[2]['id']}"


async def test_an_apps_stream_carries_only_its_declared_purposes_and_strangers_get_none(
    notifier_url, kafka_bootstrap: str, topic_prefix: str
) -> None:
    base, issuer, _db_url = notifier_url
    await register_app(kafka_bootstrap, "news-app", ["email-marketing"], prefix=topic_prefix)
    news = issuer.app_token("news-app", ttl=600, scopes=(NOTIFIER_STREAM, NOTIFIER_WEBHOOKS))
    stranger = issuer.app_token("never-registered", ttl=600)
    async with httpx.AsyncClient(timeout=10) as client:

        async def known() -> bool:
            headers = {"authorization": f"Bearer {news}"}
            return (await client.get(f"{base}/v1/subscriptions", headers=headers)).is_success

        await eventually(known)
        refused = await client.get(
            f"{base}/v1/streams/consents", headers={"authorization": f"Bearer {stranger}"}
        )
        assert refused.status_code == 403
        assert refused.json()["type"].endswith("/app-unknown")
    subject = uuid.uuid4()
    await publish_event(
        kafka_bootstrap, withdrawal(subject, 1, "sms-marketing"), prefix=topic_prefix
    )
    await publish_event(kafka_bootstrap, withdrawal(subject, 2), prefix=topic_prefix)
    events = await read_events(base, news, 1)
    assert [(e["data"]["data"]["purpose"], e["data"]["data"]["version"]) for e in events] == [
        ("email-marketing", 2)
    ]


async def _answer(base: str, token: str) -> tuple[int, dict[str, Any]]:
    """The status of the stream's answer and, when refused, its problem document; an open
    stream is closed at once."""
    headers = {"authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{base}/v1/streams/consents", headers=headers) as response,
    ):
        if response.status_code == 200:
            return 200, {}
        await response.aread()
        return response.status_code, dict(response.json())


async def test_the_all_subjects_stream_needs_its_own_scope_or_an_admin(
    notifier_url, kafka_bootstrap: str, topic_prefix: str
) -> None:
    base, issuer, _db_url = notifier_url
    for scopes in ((), ("consent:read", NOTIFIER_WEBHOOKS)):
        status, problem = await _answer(base, issuer.app_token("shop-backend", scopes=scopes))
        assert status == 403, problem
        assert problem["type"].endswith("/insufficient-scope")
        assert problem["scope"] == NOTIFIER_STREAM
    subject = uuid.uuid4()
    await publish_event(kafka_bootstrap, withdrawal(subject, 1), prefix=topic_prefix)
    admin = issuer.app_token("ops", ttl=600, scopes=("notifier:admin",))
    events = await read_events(base, admin, 1)
    assert events[0]["data"]["data"]["subject_id"] == str(subject)


async def test_a_customer_streams_only_their_own_consents_whatever_scopes_their_app_holds(
    notifier_url, kafka_bootstrap: str, topic_prefix: str
) -> None:
    base, issuer, _db_url = notifier_url
    await register_app(kafka_bootstrap, "quiz", ["email-marketing"], prefix=topic_prefix)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    openid_only = issuer.customer_token(str(alice), client_id="quiz", scopes=("openid",))

    async def quiz_known() -> bool:
        # Refused for its scope (not as an unknown app) once the view knows the app.
        return (await _answer(base, openid_only))[1]["type"].endswith("/insufficient-scope")

    await eventually(quiz_known)
    assert (await _answer(base, openid_only))[1]["scope"] == "me:consents:read"
    await publish_event(kafka_bootstrap, withdrawal(bob, 1), prefix=topic_prefix)
    await publish_event(kafka_bootstrap, withdrawal(alice, 1, "sms-marketing"), prefix=topic_prefix)
    await publish_event(kafka_bootstrap, withdrawal(alice, 2), prefix=topic_prefix)

    # An app registered with admin scopes: its customer's token is still only the customer.
    admin_scoped = issuer.customer_token(
        str(alice), client_id="quiz", scopes=("notifier:admin", NOTIFIER_STREAM, "me:consents:read")
    )
    seen = await read_events(base, admin_scoped, 1)
    # Through the third-party app: only the purposes it declared.
    assert [(e["data"]["data"]["subject_id"], e["data"]["data"]["version"]) for e in seen] == [
        (str(alice), 2)
    ]
    own_pages = await read_events(base, issuer.customer_token(str(alice)), 2)
    assert [e["data"]["data"]["purpose"] for e in own_pages] == ["sms-marketing", "email-marketing"]


async def test_a_customer_token_of_a_deleted_app_gets_no_stream(
    notifier_url, kafka_bootstrap: str, topic_prefix: str
) -> None:
    base, issuer, _db_url = notifier_url
    await register_app(kafka_bootstrap, "old-quiz", ["email-marketing"], prefix=topic_prefix)
    token = issuer.customer_token(str(uuid.uuid4()), client_id="old-quiz")

    async def served() -> bool:
        return (await _answer(base, token))[0] == 200

    await eventually(served)
    await delete_app(kafka_bootstrap, "old-quiz", prefix=topic_prefix)

    async def refused() -> bool:
        status, problem = await _answer(base, token)
        return status == 403 and problem["type"].endswith("/app-unknown")

    await eventually(refused)
