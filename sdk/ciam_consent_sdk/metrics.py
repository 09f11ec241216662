"""Prometheus gauges of consent views: how far each is behind the state topic.

`expose(view, name)` adds a running view to one collector registered with prometheus_client's
default registry (an app serves it with its usual `/metrics`); a view reports from its start
until its stop (or until it is collected). Series, labelled `view` (the name given) and
`partition`:

- `ciam_consent_view_lag_records`: records of the state topic not yet handled;
- `ciam_consent_view_last_record_age_seconds`: time since the last handled record was
  written (a quiet topic grows it too: read it together with the lag);
- `ciam_consent_view_bootstrapped`: 1 once the view has read what the topic held at start.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from ciam_consent_sdk.view import ConsentView

LAG = "ciam_consent_view_lag_records"
LAST_RECORD_AGE = "ciam_consent_view_last_record_age_seconds"
BOOTSTRAPPED = "ciam_consent_view_bootstrapped"


class ViewCollector(Collector):
    def __init__(self) -> None:
        self._views: weakref.WeakKeyDictionary[ConsentView, str] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()  # scrapes may run in another thread

    def add(self, view: ConsentView, name: str) -> None:
        with self._lock:
            self._views[view] = name

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            LAG,
            "State records a consent view has not handled",
            labels=[
                "view",
                "partition",
            ],
        )
        age = GaugeMetricFamily(
            LAST_RECORD_AGE, "Seconds since the last state record a view handled", labels=["view"]
        )
        ready = GaugeMetricFamily(
            BOOTSTRAPPED, "1 once the view has read the state topic at start", labels=["view"]
        )
        with self._lock:
            # Only running views report: one never started (an app built but not served) or
            # already stopped would hold the gauges of its name, which the view that replaced it
            # (another app instance in the same process) now owns.
            views = [(view, name) for view, name in self._views.items() if view.running]
        # Two views under one name (e.g. two apps in one process) report the one further behind.
        worst: dict[tuple[str, str], int] = {}
        last: dict[str, datetime] = {}
        booted: dict[str, bool] = {}
        for view, name in views:
            state = view.lag()
            for partition, behind in state.per_partition.items():
                key = (name, str(partition))
                worst[key] = max(worst.get(key, 0), behind)
            if state.last_record_at is not None:
                last[name] = min(last.get(name, state.last_record_at), state.last_record_at)
            booted[name] = booted.get(name, True) and state.bootstrapped
        for (name, number), behind in sorted(worst.items()):
            lag.add_metric([name, number], behind)
        now = datetime.now(UTC)
        for name, at in sorted(last.items()):
            age.add_metric([name], max((now - at).total_seconds(), 0.0))
        for name, flag in sorted(booted.items()):
            ready.add_metric([name], 1.0 if flag else 0.0)
        yield lag
        yield age
        yield ready


COLLECTOR = ViewCollector()
REGISTRY.register(COLLECTOR)


def expose(view: ConsentView, name: str) -> None:
    """Report `view` under `name` (e.g. the subscriber name) in the gauges above."""
    COLLECTOR.add(view, name)


__all__ = ["BOOTSTRAPPED", "COLLECTOR", "LAG", "LAST_RECORD_AGE", "ViewCollector", "expose"]
