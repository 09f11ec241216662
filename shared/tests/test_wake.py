"""The background loops' wait: woken or timed out, and a cancellation that races the wake
still stops the loop (Python 3.11's wait_for swallowed it, and a service's stop hung)."""

from __future__ import annotations

import asyncio

import pytest

from ciam_shared.wake import woken_or_timed_out


async def test_a_cancel_in_the_same_turn_as_the_wake_stops_the_loop() -> None:
    wake = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            await woken_or_timed_out(wake, 60)
            rounds += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # the loop waits
    wake.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)  # the old wait: TimeoutError, the loop went on
    assert rounds == 0


async def test_woken_and_timed_out_are_told_apart_and_the_event_is_cleared() -> None:
    wake = asyncio.Event()
    assert await woken_or_timed_out(wake, 0.01) is False
    wake.set()
    assert await woken_or_timed_out(wake, 5) is True
    assert not wake.is_set()
