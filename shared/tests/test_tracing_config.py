"""Traces are off unless the standard OpenTelemetry variables ask for them."""

from __future__ import annotations

import pytest

from ciam_shared.observability import tracing

VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("environment", "exporter"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
    ],
)
def test_the_environment_chooses_the_exporter(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], exporter: str | None
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert tracing._wanted_exporter() == exporter


def test_without_configuration_spans_are_no_ops_and_events_carry_no_context() -> None:
    assert tracing.configure_tracing("test") is False
    with tracing.tracer().start_as_current_span("anything") as span:
        assert not span.is_recording()
        assert tracing.event_attributes() == {}
        assert tracing.current_traceparent() is None
