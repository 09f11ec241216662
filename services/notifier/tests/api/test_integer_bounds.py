"""Stream resume points the event sequence (BIGINT) cannot hold are refused with problem
details before the stream starts, never a 500 or a stream that breaks after its 200."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.settings import NotifierSettings


@pytest.fixture
async def client(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[httpx.AsyncClient]:
    url = await fresh_database("ciam_notifier.migrations")
    settings = NotifierSettings(
        **settings_kwargs(
            url,
            kafka=kafka_bootstrap,
            redis=redis_url,
            topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        )
    )
    async with running(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(
    ("query", "last_event_id", "slug"),
    [
        (f"?after={2**63}", None, "validation"),
        (f"?after={10**30}", None, "validation"),
        ("", str(2**63), "bad-resume-point"),
        ("", "9" * 5000, "bad-resume-point"),
    ],
)
async def test_a_resume_point_beyond_the_sequence_is_a_problem(
    client: httpx.AsyncClient,
    token_issuer: TokenIssuer,
    query: str,
    last_event_id: str | None,
    slug: str,
) -> None:
    token = token_issuer.customer_token(str(uuid.uuid4()))
    headers = {"authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["last-event-id"] = last_event_id
    response = await client.get(f"/v1/streams/consents{query}", headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(slug)
