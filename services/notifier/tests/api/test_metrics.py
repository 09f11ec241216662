"""What the notifier's /metrics shows an operator: its consumer groups' lag on its own topics,
its outbox, its consent view and its webhook outcomes (real broker and database)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.settings import NotifierSettings
from ciam_shared.events import ConsentWithdrawn

from .test_webhooks import change


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
        ),
        metrics_refresh_seconds=0.2,
    )
    async with running(create_app(settings)) as http:
        yield http


async def samples(client: httpx.AsyncClient) -> list[tuple[str, dict[str, str], float]]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


async def test_the_metrics_show_consumer_lag_outbox_view_and_webhook_outcomes(
    client: httpx.AsyncClient, kafka_bootstrap: str, topic_prefix: str
) -> None:
    await publish_event(
        kafka_bootstrap, change(ConsentWithdrawn, uuid.uuid4(), 1), prefix=topic_prefix
    )
    changes = f"{topic_prefix}ciam.consent.changes"

    async def lag_measured() -> bool:
        # The group committed the change it handled: measured from the broker, nothing behind.
        found = [
            value
            for name, labels, value in await samples(client)
            if name == "ciam_kafka_consumer_lag"
            and labels.get("group") == "notifier.consent-changes"
            and labels.get("topic") == changes
        ]
        return bool(found) and sum(found) == 0

    async def view_bootstrapped() -> bool:
        # The view reads its topic to the end in the background: a loaded broker takes a while.
        return any(
            name == "ciam_consent_view_bootstrapped" and labels == {"view": "notifier"} and value
            for name, labels, value in await samples(client)
        )

    await eventually(lag_measured)
    await eventually(view_bootstrapped)
    found = {
        (name, tuple(sorted(labels.items()))): value
        for name, labels, value in await samples(client)
    }
    assert found[("ciam_outbox_unsent", (("service", "notifier"),))] >= 0
    assert ("ciam_outbox_oldest_unsent_age_seconds", (("service", "notifier"),)) in found
    assert found[("ciam_consent_view_bootstrapped", (("view", "notifier"),))] == 1
    assert ("ciam_webhook_attempts_total", (("outcome", "dead"),)) in found
