"""The shared worker loop: more work runs at once, a wake-up ends the wait, a failed step is
retried at the next poll, a cancel stops it, and the shutdown grace lets a step finish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from ciam_shared.worker import WorkerLoop

DEADLINE_S = 5.0


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


async def test_the_step_runs_while_it_reports_more_work_then_waits_for_a_wake() -> None:
    backlog = [3]
    calls = 0

    async def step() -> bool:
        nonlocal calls
        calls += 1
        if backlog[0] == 0:
            return False
        backlog[0] -= 1
        return True

    loop = WorkerLoop("test", step, poll_seconds=3600)
    task = asyncio.create_task(loop.run())
    await _until(lambda: calls == 4, "the backlog to drain")  # three with work, one empty
    backlog[0] = 2
    loop.wake()  # an hour's poll: only the wake-up can start the next round
    await _until(lambda: calls == 7, "the woken round")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_failed_step_is_logged_and_tried_again_at_the_next_poll(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[str] = []

    async def step() -> bool:
        if not outcomes:
            outcomes.append("failed")
            raise RuntimeError("database down")
        outcomes.append("ran")
        return False

    loop = WorkerLoop("flaky", step, poll_seconds=0.01)
    task = asyncio.create_task(loop.run())
    await _until(lambda: "ran" in outcomes, "the retry")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcomes[:2] == ["failed", "ran"]
    assert "flaky: step failed" in caplog.text


async def test_a_cancel_stops_a_step_in_hand_without_a_grace() -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def step() -> bool:
        started.set()
        await asyncio.Event().wait()  # never ends by itself
        finished.set()
        return False

    loop = WorkerLoop("no-grace", step, poll_seconds=3600)
    task = asyncio.create_task(loop.run())
    await asyncio.wait_for(started.wait(), DEADLINE_S)
    assert loop.busy()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, DEADLINE_S)
    assert not finished.is_set()
    assert not loop.busy()


async def test_with_a_grace_the_step_in_hand_finishes_before_the_loop_stops() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def step() -> bool:
        if finished:
            return False
        started.set()
        await release.wait()
        finished.append(True)
        return False

    loop = WorkerLoop("grace", step, poll_seconds=3600, finish_on_shutdown=DEADLINE_S)
    task = asyncio.create_task(loop.run())
    await asyncio.wait_for(started.wait(), DEADLINE_S)
    task.cancel()
    await asyncio.sleep(0)  # the cancel reaches the loop, which now waits for the step
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, DEADLINE_S)
    assert finished == [True]
