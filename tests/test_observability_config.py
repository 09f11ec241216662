"""The example Grafana dashboard and the Prometheus alert rules query only metrics the
services expose, with labels those metrics have, in expressions that parse (a small PromQL
reader: selectors, functions, aggregations, ranges; not the whole grammar)."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "infra" / "grafana" / "ciam-platform.json"
ALERTS = ROOT / "infra" / "prometheus" / "alerts.yml"

FUNCTIONS = {
    "abs", "absent", "avg_over_time", "ceil", "changes", "clamp_max", "clamp_min",
    "count_over_time", "delta", "deriv", "floor", "histogram_quantile", "idelta",
    "increase", "irate", "label_replace", "max_over_time", "min_over_time", "predict_linear",
    "rate", "resets", "round", "scalar", "sum_over_time", "time", "timestamp", "vector",
}  # fmt: skip
AGGREGATIONS = {
    "avg", "bottomk", "count", "count_values", "group", "max", "min", "quantile", "stddev",
    "stdvar", "sum", "topk",
}  # fmt: skip
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
OPERATORS = {"and", "or", "unless", "bool", "offset"}
TOKEN = re.compile(
    r"\s*(?:(?P<string>\"(?:[^\"\\]|\\.)*\")|(?P<number>\d+(?:\.\d+)?(?:e[+-]?\d+)?)"
    r"|(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)|(?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=,(){}\[\]:]))"
)
# What runs in the services' processes (auth's own metrics are not on the dashboard).
SERVICES = (
    "ciam_shared.service",
    "ciam_consent.main",
    "ciam_profile.main",
    "ciam_notifier.main",
    "ciam_consent_sdk.metrics",
)
# Labels Prometheus adds at scrape time, and the histogram's bucket bound.
SCRAPE_LABELS = {"instance", "job", "le"}


@dataclass
class Query:
    metrics: dict[str, set[str]] = field(default_factory=dict)  # name -> labels it matches on
    grouping: set[str] = field(default_factory=set)  # labels named in by/on/... lists


def tokens(expr: str) -> list[tuple[str, str]]:
    found, position = [], 0
    expr = expr.strip()
    while position < len(expr):
        match = TOKEN.match(expr, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read {expr[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def parse(expr: str) -> Query:
    """The metric names and label names of `expr`; raises ValueError on what does not parse."""
    items = tokens(expr)
    depth = {"(": 0, "[": 0, "{": 0}
    closing = {")": "(", "]": "[", "}": "{"}
    for _, text in items:
        if text in depth:
            depth[text] += 1
        elif text in closing:
            depth[closing[text]] -= 1
            if depth[closing[text]] < 0:
                raise ValueError(f"unbalanced {text!r} in {expr!r}")
    if any(depth.values()):
        raise ValueError(f"unbalanced brackets in {expr!r}")
    query = Query()
    i = 0
    while i < len(items):
        kind, text = items[i]
        following = items[i + 1][1] if i + 1 < len(items) else ""
        if kind == "name" and text in LABEL_LISTS:
            if following != "(":
                raise ValueError(f"{text} without a label list in {expr!r}")
            i += 2
            while items[i][1] != ")":
                if items[i][0] == "name":
                    query.grouping.add(items[i][1])
                i += 1
        elif kind == "name" and text in OPERATORS:
            i += 2 if text == "offset" else 1
            continue
        elif kind == "name" and (text in FUNCTIONS or text in AGGREGATIONS):
            if following not in ("(", "by", "without"):
                raise ValueError(f"{text} is not called in {expr!r}")
        elif kind == "name":
            if following == "(":
                raise ValueError(f"unknown function {text} in {expr!r}")
            labels = query.metrics.setdefault(text, set())
            if following == "{":
                i += 2
                while items[i][1] != "}":
                    name, operator, value = items[i], items[i + 1], items[i + 2]
                    if name[0] != "name" or operator[1] not in ("=", "!=", "=~", "!~"):
                        raise ValueError(f"bad label matcher in {expr!r}")
                    if value[0] != "string":
                        raise ValueError(f"a label value must be a string in {expr!r}")
                    labels.add(name[1])
                    i += 4 if items[i + 3][1] == "," else 3
        elif text == "[":
            while items[i][1] != "]":  # a range or subquery: durations only
                i += 1
        i += 1
    if not query.metrics:
        raise ValueError(f"no metric in {expr!r}")
    return query


def exposed() -> dict[str, set[str]]:
    """Every sample name the services' registries can produce, with its labels."""
    for module in SERVICES:
        importlib.import_module(module)  # each module registers its metrics at import
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
    }
    labels_of: dict[str, set[str]] = {}
    for collector, names in REGISTRY._collector_to_names.items():  # type: ignore[attr-defined]
        declared = set(getattr(collector, "_labelnames", ()))
        for family in collector.collect():
            labels = declared | set(getattr(family, "_labelnames", ()))
            for sample in family.samples:
                labels |= set(sample.labels)
            for suffix in suffixes.get(family.type, ("",)):
                labels_of[f"{family.name}{suffix}"] = labels
        for name in names:
            labels_of.setdefault(name, declared)
    return labels_of


def dashboard_queries() -> Iterator[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                yield node["expr"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk(json.loads(DASHBOARD.read_text()))


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def check(expr: str, metrics: dict[str, set[str]]) -> None:
    query = parse(expr)
    for name, matched in query.metrics.items():
        assert name in metrics, f"{name} (in {expr!r}) is not exposed by any service"
        unknown = matched - metrics[name] - SCRAPE_LABELS
        assert not unknown, f"{name} has no label {sorted(unknown)} (in {expr!r})"
    every_label = set().union(*(metrics[n] for n in query.metrics)) | SCRAPE_LABELS
    unknown_grouping = query.grouping - every_label
    assert not unknown_grouping, f"no metric of {expr!r} has {sorted(unknown_grouping)}"


def test_every_dashboard_query_names_exposed_metrics_and_labels() -> None:
    metrics = exposed()
    queries = list(dashboard_queries())
    assert len(queries) >= 10
    for expr in queries:
        check(expr, metrics)


def test_the_alert_rules_parse_and_name_exposed_metrics() -> None:
    metrics = exposed()
    rules = alert_rules()
    names = {rule["alert"] for rule in rules}
    # What the operations page promises to alert on.
    assert {
        "CiamConsumerLagHigh",
        "CiamOutboxStale",
        "CiamWebhookDeadLetters",
        "CiamConsentViewBehind",
    } <= names
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        check(rule["expr"], metrics)


@pytest.mark.parametrize(
    "expr",
    [
        "sum(rate(no_such_metric_total[5m]))",
        'ciam_webhook_attempts_total{no_such_label="dead"}',
        "max by (no_such_label) (ciam_kafka_consumer_lag)",
        "max(ciam_kafka_consumer_lag",
        "frobnicate(ciam_kafka_consumer_lag)",
    ],
)
def test_the_checker_refuses_what_prometheus_would_not_find(expr: str) -> None:
    with pytest.raises((AssertionError, ValueError)):
        check(expr, exposed())
