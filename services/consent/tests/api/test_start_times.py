"""What a start waited for: each step of the consent service's start is timed and reported
once it is ready (an outside run saw restarts of 23-68 s on a loaded machine; the log line
says where such time goes)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from ciam_shared.logging import JsonFormatter
from ciam_shared.service import StartTimes, _hook_name


async def test_each_step_of_the_start_is_timed(consent_api: Any) -> None:
    times = consent_api.service.state.runtime.start_times
    steps = list(times.phases)
    # In the order they ran: the shared runtime's steps, then the service's own.
    assert steps[:3] == ["database", "topics", "broker"]
    assert "brand-app view" in steps and "catalogue announced" in steps
    assert steps[-2:] == ["on_start", "start_watching"]  # the hooks themselves, whole
    assert all(seconds >= 0 for seconds in times.phases.values())
    # A step inside a hook is part of the hook's time.
    assert times.phases["brand-app view"] <= times.phases["on_start"]


async def test_the_report_is_one_log_line_with_every_step() -> None:
    times = StartTimes()
    async with times.phase("broker"):
        await asyncio.sleep(0.01)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("ciam_shared.service")
    logger.addHandler(handler)
    try:
        times.report("consent")
    finally:
        logger.removeHandler(handler)
    [record] = records
    line = json.loads(JsonFormatter("consent").format(record))
    assert line["msg"].startswith("consent started in ")
    assert line["start_phases"]["broker"] >= 0.01
    assert line["start_seconds"] >= line["start_phases"]["broker"]


def test_a_hook_is_named_by_its_function_or_what_its_lambda_calls() -> None:
    async def on_start(_: object) -> None:
        return None

    def start_provider(runtime: object, provider: object) -> None:
        return None

    assert _hook_name(on_start) == "on_start"
    assert _hook_name(lambda runtime: start_provider(runtime, None)) == "start_provider"
