"""Traces leave the process over OTLP and cross Kafka in the record headers: the consent
service runs as its own process with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a collector
stand-in; a withdrawal sent with the caller's `traceparent` comes back in the published
record's headers and in the exported spans, one trace."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer
from joserfc.jwk import ECKey
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ciam_consent.auth import READ, WRITE
from ciam_devtools.devstack import free_port
from ciam_devtools.testing.apps import register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import ServiceProcess, eventually
from ciam_shared.topics import CONSENT_CHANGES, ensure_topics

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: frozenset[str]


@dataclass
class Collector:
    """An OTLP/HTTP trace receiver (protobuf), keeping every span it is sent."""

    port: int = field(default_factory=free_port)
    spans: list[ExportedSpan] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                attributes = {
                    a.key: a.value.string_value for a in resource_spans.resource.attributes
                }
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(
                        ExportedSpan(
                            attributes.get("service.name", ""),
                            span.name,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                            frozenset(a.key for a in span.attributes),
                        )
                        for span in scope_spans.spans
                    )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/x-protobuf")],
            }
        )
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    receiver = Collector()
    config = uvicorn.Config(
        receiver, host="127.0.0.1", port=receiver.port, log_level="error", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await eventually(started)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def consent_url(
    collector: Collector,
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    tmp_path: Path,
    token_issuer: TokenIssuer,
) -> AsyncIterator[str]:
    url = await fresh_database("ciam_consent.migrations")
    env = {
        "CONSENT_DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "CIAM_ENVIRONMENT": "test",
        "CONSENT_MIGRATE_ON_START": "false",
        "TOKEN_ISSUER": token_issuer.url,
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
        # Standard OpenTelemetry variables, nothing of ours: traces on, over OTLP/HTTP.
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    await register_app(kafka_bootstrap, "shop-backend", ("email-marketing",), prefix=topic_prefix)
    process = ServiceProcess("consent", env, tmp_path).start()
    try:
        yield process.url
    finally:
        process.stop()


async def test_a_withdrawal_s_trace_crosses_kafka_and_is_exported_over_otlp(
    consent_url: str,
    collector: Collector,
    kafka_bootstrap: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> None:
    subject = uuid.uuid4()
    caller_trace, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    headers = token_issuer.bearer(
        token_issuer.app_token("shop-backend", scopes=(READ, WRITE), ttl=600)
    )
    base = f"{consent_url}/v1/subjects/{subject}/consents/email-marketing"
    async with httpx.AsyncClient(timeout=10) as client:
        granted = await client.post(f"{base}/grant", json={}, headers=headers)
        assert granted.status_code == 200, granted.text
        withdrawn = await client.post(
            f"{base}/withdraw",
            json={},
            headers=headers | {"traceparent": f"00-{caller_trace}-{caller_span}-01"},
        )
        assert withdrawn.status_code == 200, withdrawn.text

    record_headers = await withdrawal_record_headers(kafka_bootstrap, topic_prefix, subject)
    # The CloudEvents attribute names where the event was produced (the request's span); the
    # hop's traceparent is the relay's publish span, a child of it: both in the caller's trace.
    _, event_trace, request_span, _ = record_headers["ce_traceparent"].split("-")
    _, hop_trace, publish_span, _ = record_headers["traceparent"].split("-")
    assert event_trace == hop_trace == caller_trace
    assert publish_span != request_span

    async def exported() -> bool:
        ids = {s.span_id for s in collector.spans if s.trace_id == caller_trace}
        return {request_span, publish_span} <= ids

    await eventually(exported, timeout=20)
    by_id = {s.span_id: s for s in collector.spans if s.trace_id == caller_trace}
    request, publish = by_id[request_span], by_id[publish_span]
    assert request.name == "POST /v1/subjects/{subject_id}/consents/{purpose}/withdraw"
    assert request.parent_span_id == caller_span
    assert publish.name == f"publish {topic_prefix}ciam.consent.changes"
    assert publish.parent_span_id == request_span
    assert request.service == publish.service == "ciam-consent"
    # Routes, never URLs: paths name subjects, query strings carry tokens and codes.
    assert not any({"url.path", "url.query"} & s.attributes for s in collector.spans)


async def withdrawal_record_headers(
    bootstrap: str, prefix: str, subject: uuid.UUID
) -> dict[str, str]:
    await ensure_topics(bootstrap, [CONSENT_CHANGES], prefix=prefix)
    consumer = AIOKafkaConsumer(
        CONSENT_CHANGES.name(prefix),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            while True:
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    for record in records:
                        headers = {k: v.decode() for k, v in record.headers}
                        if (
                            headers.get("ce_subject") == str(subject)
                            and headers.get("ce_type") == "dev.ciam.consent.withdrawn.v1"
                        ):
                            return headers
    finally:
        await consumer.stop()
