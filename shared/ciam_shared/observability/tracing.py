"""OpenTelemetry traces across HTTP and Kafka: one consent change, one trace.

Off by default: unless the environment asks for an exporter, spans go to the API's no-op
tracer. `OTEL_TRACES_EXPORTER=otlp` (or `console`), or an `OTEL_EXPORTER_OTLP_ENDPOINT` /
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, turns them on; `OTEL_SDK_DISABLED=true` or
`OTEL_TRACES_EXPORTER=none` keeps them off. The exporter reads the other standard variables
itself (headers, timeout, compression).

Where the context travels:
- HTTP: the W3C `traceparent`/`tracestate` request headers (a caller's trace continues).
- The outbox row: the event's CloudEvents distributed-tracing attributes, `ce_traceparent` and
  `ce_tracestate` (binary mode), written with the row inside the request's (or handler's)
  span. They name where the event was produced and never change.
- The Kafka record: `traceparent`/`tracestate` headers of the hop, the relay's publish span
  (which continues the row's trace); a consumer continues from them, or from the CloudEvents
  attributes when a producer set only those.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
CE_TRACEPARENT = "ce_traceparent"
CE_TRACESTATE = "ce_tracestate"
INSTRUMENTATION = "ciam"

# Only the W3C trace context crosses our boundaries (no baggage: nothing a caller puts there
# should ride along into events kept for years).
_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: Tracer = trace.get_tracer(INSTRUMENTATION)  # a proxy: follows the global provider
_configured = False


def tracer() -> Tracer:
    return _tracer


def use_provider(provider: TracerProvider | None) -> None:
    """Send this package's spans to `provider` (tests: an in-memory exporter), or back to the
    global provider with None. The global provider can be set once per process; this can be
    undone, so one test's exporter does not change what the others see."""
    global _tracer
    source = provider if provider is not None else trace.get_tracer_provider()
    _tracer = source.get_tracer(INSTRUMENTATION)


def _wanted_exporter() -> str | None:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    named = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        return None if named == "none" else named
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return "otlp" if any(os.environ.get(v) for v in endpoints) else None


def configure_tracing(service: str) -> bool:
    """Install an SDK tracer provider when the environment asks for one (once per process);
    returns whether spans are exported."""
    global _configured
    if _configured:
        return True
    exporter_name = _wanted_exporter()
    if exporter_name is None:
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    exporter: SpanExporter
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    elif exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_* from the environment
    else:
        log.warning("OTEL_TRACES_EXPORTER=%s is not supported; traces stay off", exporter_name)
        return False
    name = os.environ.get("OTEL_SERVICE_NAME") or f"ciam-{service}"
    provider = SdkTracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    use_provider(None)
    _configured = True
    log.info("traces exported", extra={"exporter": exporter_name})
    return True


# -- Kafka and outbox headers -----------------------------------------------------------------


def event_attributes() -> dict[str, str]:
    """The CloudEvents distributed-tracing attributes (binary mode headers) of the current
    span: stored with an outbox row so that its publish continues this trace. Empty when no
    span is recording."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return {f"ce_{name}": value for name, value in carrier.items()}


def current_headers() -> dict[str, str]:
    """The current span as W3C `traceparent`/`tracestate` (e.g. of an outgoing request)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    """The current span's W3C traceparent, to store with work done later (None: no span)."""
    return current_headers().get(TRACEPARENT)


def _text(headers: Mapping[str, Any] | Any) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for name, value in items or ():
        if name in (TRACEPARENT, TRACESTATE, CE_TRACEPARENT, CE_TRACESTATE):
            found[name] = value.decode(errors="replace") if isinstance(value, bytes) else value
    return found


def extract(headers: Mapping[str, Any] | Any) -> otel_context.Context:
    """The trace context a record carries: its hop's `traceparent`, else the CloudEvents
    attributes. `headers`: a mapping or (name, value) pairs, values str or bytes."""
    found = _text(headers)
    if TRACEPARENT not in found and CE_TRACEPARENT in found:
        found = {
            TRACEPARENT: found[CE_TRACEPARENT],
            **({TRACESTATE: found[CE_TRACESTATE]} if CE_TRACESTATE in found else {}),
        }
    return _PROPAGATOR.extract(found)


def inject_hop(span: Span, headers: MutableMapping[str, str]) -> None:
    """Set the record's `traceparent`/`tracestate` to `span` (the publish)."""
    headers.pop(TRACEPARENT, None)
    headers.pop(TRACESTATE, None)
    if span.get_span_context().is_valid:
        _PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))


def publish_span(topic: str, headers: Mapping[str, Any]) -> Span:
    """A producer span for one record, continuing the trace its outbox row carries; the
    caller ends it once the broker acknowledged the record."""
    return tracer().start_span(
        f"publish {topic}",
        context=extract(headers),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "messaging.message.id": str(_text_value(headers, "ce_id")),
        },
    )


def _text_value(headers: Mapping[str, Any], name: str) -> str:
    value = headers.get(name, "")
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@contextmanager
def consume_span(
    topic: str,
    headers: Mapping[str, Any] | Any,
    *,
    group: str,
    partition: int | None = None,
    offset: int | None = None,
    message_id: str | None = None,
) -> Iterator[Span]:
    """The current span while a subscriber handles one record, in the producer's trace."""
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": group,
    }
    if partition is not None:
        attributes["messaging.destination.partition.id"] = str(partition)
    if offset is not None:
        attributes["messaging.kafka.offset"] = offset
    if message_id:
        attributes["messaging.message.id"] = message_id
    with tracer().start_as_current_span(
        f"process {topic}",
        context=extract(headers),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    ) as span:
        yield span


def fail(span: Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))


# -- HTTP -------------------------------------------------------------------------------------


class TracingMiddleware:
    """A server span per HTTP request, continuing the caller's `traceparent`. Its name and
    `http.route` are the route's template, never the path (paths carry subject ids)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate")
        }
        method = scope["method"]
        with tracer().start_as_current_span(
            method,
            context=_PROPAGATOR.extract(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "ciam.service": self.service},
        ) as span:
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))


__all__ = [
    "CE_TRACEPARENT",
    "TRACEPARENT",
    "TracingMiddleware",
    "configure_tracing",
    "consume_span",
    "current_headers",
    "current_traceparent",
    "event_attributes",
    "extract",
    "fail",
    "inject_hop",
    "publish_span",
    "tracer",
    "use_provider",
]
