"""Traces and the gauges operators watch (docs/operations.md), wired into every service by
`ciam_shared.service.build_app` with two calls: `instrument` (the HTTP span middleware and,
when configured, the exporter) and `start_watching` (a startup hook: the lag and outbox
gauges, refreshed in the background)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from ciam_shared.observability.metrics import LagProbe, refresh_forever
from ciam_shared.observability.tracing import TracingMiddleware, configure_tracing

if TYPE_CHECKING:
    from ciam_shared.service import ServiceRuntime


# FastAPI's own OpenTelemetry (on as soon as a global provider is set) is kept off: its
# server spans record the URL's query string, which carries reset tokens, OIDC codes and
# states; ours (TracingMiddleware) name the route template only. Its metrics and logs would
# duplicate /metrics and the JSON logs.
FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def instrument(app: FastAPI, service: str) -> None:
    """Outermost middleware: the server span covers the whole request, errors included."""
    configure_tracing(service)
    app.add_middleware(TracingMiddleware, service=service)


def start_watching(runtime: ServiceRuntime[Any]) -> None:
    """Refresh the consumer lag and outbox gauges while the service runs (a background task
    of the runtime, cancelled when it stops)."""
    settings = runtime.settings
    probe = LagProbe(runtime.spec.name, settings.kafka_bootstrap_servers, settings.topic_prefix)
    runtime.spawn(
        "metrics",
        refresh_forever(
            service=runtime.spec.name,
            sessions=runtime.sessions,
            outbox=runtime.relay.table,
            probe=probe,
            every_seconds=settings.metrics_refresh_seconds,
        ),
    )


__all__ = ["FASTAPI_TELEMETRY", "instrument", "start_watching"]
