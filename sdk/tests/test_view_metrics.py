"""A view's lag as Prometheus gauges (ciam_consent_sdk.metrics), against a real broker."""

from __future__ import annotations

import asyncio
import uuid

from prometheus_client import REGISTRY

from ciam_consent_sdk import ConsentUpdate
from ciam_consent_sdk.metrics import expose
from ciam_devtools.testing.plugin import eventually

from .test_view_kafka import StateTopic, new_view, topic

__all__ = ["topic"]  # the fixture, shared with the view's tests


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_a_held_back_view_shows_its_lag_on_the_metrics(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    release = asyncio.Event()
    view = new_view(kafka_bootstrap, topic_prefix, lag_refresh_seconds=0.1)
    name = f"app-{uuid.uuid4().hex[:8]}"
    expose(view, name)

    @view.on_change
    async def slow(change: ConsentUpdate) -> None:
        await release.wait()

    subject = uuid.uuid4()
    try:
        await view.start()
        assert gauge("ciam_consent_view_bootstrapped", view=name) == 1
        for version in (1, 2, 3):
            await topic.put_state(subject, version)

        async def two_behind() -> bool:
            # One partition holds the subject's records: the held one's two successors wait.
            return (
                sum(
                    gauge("ciam_consent_view_lag_records", view=name, partition=str(p)) or 0
                    for p in view.lag().per_partition
                )
                == 2
            )

        await eventually(two_behind, timeout=5)
        assert (gauge("ciam_consent_view_last_record_age_seconds", view=name) or -1) >= 0
        release.set()

        async def caught_up() -> bool:
            return all(
                gauge("ciam_consent_view_lag_records", view=name, partition=str(p)) == 0
                for p in view.lag().per_partition
            )

        await eventually(caught_up, timeout=5)
    finally:
        release.set()
        await view.stop()


async def test_only_a_running_view_reports_so_its_successor_reports_alone(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    name = f"app-{uuid.uuid4().hex[:8]}"
    first = new_view(kafka_bootstrap, topic_prefix)
    expose(first, name)
    await first.start()
    await first.stop()
    assert gauge("ciam_consent_view_bootstrapped", view=name) is None  # kept referenced above
    second = new_view(kafka_bootstrap, topic_prefix)
    expose(second, name)
    assert gauge("ciam_consent_view_bootstrapped", view=name) is None  # not started yet
    try:
        await second.start()
        assert gauge("ciam_consent_view_bootstrapped", view=name) == 1
    finally:
        await second.stop()
    assert first.stopped and second.stopped
