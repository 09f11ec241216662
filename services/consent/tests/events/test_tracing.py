"""One withdrawal, one trace: the HTTP request, the outbox's publish, a brand app's view and
its acknowledgement handled back at the consent service (real PostgreSQL and Kafka, spans
kept in memory)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from ciam_consent.models import outbox
from ciam_consent_sdk import ConsentUpdate, ConsentView
from ciam_devtools.testing.plugin import eventually
from ciam_devtools.testing.traces import Spans, captured_spans, parent_id, span_id, trace_id

WITHDRAW_ROUTE = "POST /v1/subjects/{subject_id}/consents/{purpose}/withdraw"


@pytest.fixture
def spans() -> Iterator[Spans]:
    with captured_spans() as captured:
        yield captured


async def test_a_withdrawal_is_one_trace_from_request_to_subscriber_and_proof(
    consent_api, spans: Spans
) -> None:
    subject = uuid.uuid4()
    base = f"/v1/subjects/{subject}/consents/email-marketing"
    headers = consent_api.customer(subject)
    granted = await consent_api.client.post(f"{base}/grant", json={}, headers=headers)
    assert granted.status_code == 200, granted.text
    settings = consent_api.settings
    seen: list[ConsentUpdate] = []

    async def on_change(update: ConsentUpdate) -> None:
        if update.subject_id == subject:
            seen.append(update)

    view = ConsentView(
        settings.kafka_bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        subscriber="trace-test",
        tracer_provider=spans.provider,
    )
    view.on_change(on_change)
    async with view:
        withdrawn = await consent_api.client.post(f"{base}/withdraw", json={}, headers=headers)
        assert withdrawn.status_code == 200, withdrawn.text
        [request] = spans.named(WITHDRAW_ROUTE)
        trace = trace_id(request)
        prefix = settings.topic_prefix
        applied = f"process {prefix}ciam.consent.applied"

        async def through_the_proof() -> bool:
            return any(s.name == applied for s in spans.in_trace(trace))

        await eventually(through_the_proof)
    assert [u.version for u in seen] == [2]

    in_trace = spans.in_trace(trace)
    by_name = {s.name: s for s in in_trace}
    assert request.parent is None  # the caller sent no traceparent: the request starts it
    # The relay's publishes continue the request's trace (stored with the outbox rows) ...
    changes = by_name[f"publish {prefix}ciam.consent.changes"]
    state = by_name[f"publish {prefix}ciam.consent.state"]
    assert parent_id(changes) == parent_id(state) == span_id(request)
    # ... the view handles the state record (and runs the app's callback) under the publish,
    view_span = by_name[f"process {prefix}ciam.consent.state"]
    assert parent_id(view_span) == span_id(state)
    assert view_span.attributes is not None
    assert view_span.attributes["ciam.subscriber"] == "trace-test"
    # ... and its acknowledgement is handled by the consent service's subscriber in it too.
    proof = by_name[applied]
    assert parent_id(proof) == span_id(view_span)
    assert proof.attributes is not None
    assert proof.attributes["messaging.consumer.group.name"] == "consent.applied-proofs"
    # The grant before was a trace of its own.
    [grant] = spans.named("POST /v1/subjects/{subject_id}/consents/{purpose}/grant")
    assert trace_id(grant) != trace


async def test_a_caller_s_traceparent_is_continued(consent_api, spans: Spans) -> None:
    subject = uuid.uuid4()
    caller_trace = uuid.uuid4().hex
    caller_span = uuid.uuid4().hex[:16]
    response = await consent_api.client.post(
        f"/v1/subjects/{subject}/consents/analytics/grant",
        json={},
        headers=consent_api.customer(subject)
        | {"traceparent": f"00-{caller_trace}-{caller_span}-01"},
    )
    assert response.status_code == 200, response.text
    [request] = spans.named("POST /v1/subjects/{subject_id}/consents/{purpose}/grant")
    assert trace_id(request) == int(caller_trace, 16)
    assert parent_id(request) == int(caller_span, 16)
    # The outbox rows carry the request's context as the CloudEvents tracing attribute.
    async with consent_api.engine.connect() as connection:
        rows = (await connection.execute(select(outbox.c.headers))).scalars().all()
    assert rows and all(h["ce_traceparent"].split("-")[1] == caller_trace for h in rows)
