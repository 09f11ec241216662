"""Readiness tells which dependency is missing."""

from __future__ import annotations

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.settings import NotifierSettings


async def test_ready_when_database_redis_and_kafka_answer(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> None:
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
    async with running(create_app(settings)) as client:
        assert (await client.get("/healthz")).json()["status"] == "ok"
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text


async def test_not_ready_names_the_dependency_that_is_down(
    fresh_database, kafka_bootstrap: str, topic_prefix: str, token_issuer: TokenIssuer
) -> None:
    url = await fresh_database("ciam_notifier.migrations")
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    settings = NotifierSettings(
        **settings_kwargs(
            url,
            kafka=kafka_bootstrap,
            redis=dead_redis,
            topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        ),
    )
    async with running(create_app(settings)) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        checks = response.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["kafka"] == "ok"
        assert checks["redis"].startswith("failed")
