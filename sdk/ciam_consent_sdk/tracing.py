"""Traces through the view: each state record's handling (the app's callbacks included) is a
span in the trace of the consent change that produced it, and the acknowledgement carries it
on to the consent service. OpenTelemetry's API only: without an SDK installed and configured
by the app (or a `tracer_provider` given to the view), every span is a no-op.

The context comes from the record's W3C `traceparent`/`tracestate` headers (the publishing
hop), else from the CloudEvents distributed-tracing attributes `ce_traceparent`/`ce_tracestate`.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_NAMES = ("traceparent", "tracestate", "ce_traceparent", "ce_tracestate")


def view_tracer(provider: TracerProvider | None) -> Tracer:
    return (provider or trace.get_tracer_provider()).get_tracer("ciam_consent_sdk")


def extract(headers: Sequence[tuple[str, bytes]]) -> otel_context.Context:
    found = {
        name: value.decode(errors="replace")
        for name, value in headers
        if name in _NAMES and isinstance(value, bytes)
    }
    if "traceparent" not in found and "ce_traceparent" in found:
        found = {name.removeprefix("ce_"): value for name, value in found.items()}
    return _PROPAGATOR.extract(found)


def current_headers() -> list[tuple[str, bytes]]:
    """The current span as `traceparent`/`tracestate` headers (none while nothing records)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return [(name, value.encode()) for name, value in carrier.items()]
