"""The wake-or-poll wait of the background loops (the outbox relay, auth's queues, the
notifier's delivery and sending workers): sleep until woken or until the poll interval ends.

Python 3.11's `asyncio.wait_for` may return normally when the waiting task is cancelled in the
same loop iteration as the event is set (fixed in 3.12): the loop then never sees its
cancellation and `stop()` waits for ever. `woken_or_timed_out` re-raises a pending
cancellation, so every loop built on it stops when asked.
"""

from __future__ import annotations

import asyncio
import contextlib


async def woken_or_timed_out(wake: asyncio.Event, timeout: float) -> bool:
    """Wait for `wake` at most `timeout` seconds and clear it; True when it was set."""
    woken = False
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=timeout)
        woken = True
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    wake.clear()
    return woken
