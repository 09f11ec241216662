"""Each webhook delivery is a span in its consent change's trace, the first attempt (fast
path) and a retry in a later round alike, and the endpoint gets a `traceparent` to continue
it (real broker, database and HTTP receiver; spans kept in memory)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaProducer

from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, running, settings_kwargs
from ciam_devtools.testing.traces import Spans, captured_spans, parent_id, span_id, trace_id
from ciam_notifier.main import create_app
from ciam_notifier.settings import NotifierSettings
from ciam_shared.events import ConsentWithdrawn, encode

from .test_webhooks import Notifier, Receiver, change, serve, shutdown


@pytest.fixture
def spans() -> Iterator[Spans]:
    with captured_spans() as captured:
        yield captured


@pytest.fixture
async def notifier(
    spans: Spans,
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Notifier]:
    url = await fresh_database("ciam_notifier.migrations")
    settings = NotifierSettings(
        **settings_kwargs(
            url,
            kafka=kafka_bootstrap,
            redis=redis_url,
            topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        ),
        webhook_allowlist=["127.0.0.0/8"],
        backoff_base_seconds=0.05,
        backoff_max_seconds=0.2,
        delivery_poll_seconds=0.1,
    )
    async with running(create_app(settings)) as client:
        yield Notifier(client, token_issuer, url)


async def test_a_retried_webhook_stays_in_the_trace_of_its_consent_change(
    notifier: Notifier, spans: Spans, kafka_bootstrap: str, topic_prefix: str
) -> None:
    receiver = Receiver(failures=1)  # the first attempt fails: the retry is a later round's
    servers = await serve([receiver])
    try:
        await notifier.subscribe(receiver.url)
        withdrawal = change(ConsentWithdrawn, uuid.uuid4(), 1)
        # As the consent service's relay publishes it: the hop's span in `traceparent`.
        upstream_trace, upstream_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
        key, value, headers = encode(withdrawal)
        headers["traceparent"] = f"00-{upstream_trace}-{upstream_span}-01"
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                f"{topic_prefix}{withdrawal.data.topic_base_name}",
                value=value,
                key=key,
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
        finally:
            await producer.stop()

        async def delivered() -> bool:
            return len(spans.named("webhook POST")) >= 2 and bool(receiver.received)

        await eventually(delivered)
    finally:
        await shutdown(servers)

    trace = int(upstream_trace, 16)
    [handled] = [
        s
        for s in spans.named(f"process {topic_prefix}ciam.consent.changes")
        if trace_id(s) == trace
    ]
    assert parent_id(handled) == int(upstream_span, 16)
    failed, retried = sorted(spans.named("webhook POST"), key=lambda s: s.start_time or 0)
    # Both attempts are children of the fan-out's handling: the first through the task it
    # started, the retry through the traceparent stored with the delivery.
    assert parent_id(failed) == parent_id(retried) == span_id(handled)
    assert trace_id(failed) == trace_id(retried) == trace
    assert failed.attributes is not None and failed.attributes["http.response.status_code"] == 500
    assert retried.attributes is not None
    assert retried.attributes["http.response.status_code"] == 204
    # The endpoint can continue the trace: the request carried the attempt's own context.
    received_headers, _ = receiver.received[0]
    assert received_headers["traceparent"].split("-")[1:3] == [
        upstream_trace,
        f"{span_id(retried):016x}",
    ]
