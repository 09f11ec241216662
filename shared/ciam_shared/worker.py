"""The loop behind every background worker (the outbox relay, auth's durable queues, the
notifier's webhook deliveries and messages): run a step while it reports more work, then wait
until woken (right after a commit that queued something) or until the poll interval ends (for
what a wake-up cannot cover: rows left by a stopped instance or another replica, retries that
fell due).

A step that raises is logged and tried again at the next poll; the loop itself only ends when
its task is cancelled. With `finish_on_shutdown`, a cancellation lets the step in hand finish
(up to that many seconds) before the loop stops: a step cancelled in the middle of a database
call could leave its connection to hang the engine's disposal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ciam_shared.wake import woken_or_timed_out

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[bool]]


class WorkerLoop:
    """Runs `step` (True: it did something and more may wait, run it again) when woken or
    polled. `run()` is the task; cancel it to stop."""

    def __init__(
        self,
        name: str,
        step: Step,
        poll_seconds: float,
        *,
        finish_on_shutdown: float | None = None,
    ) -> None:
        self.name = name
        self.poll_seconds = poll_seconds
        self.finish_on_shutdown = finish_on_shutdown
        self._step = step
        self._wake = asyncio.Event()
        self._busy = False

    def wake(self) -> None:
        self._wake.set()

    def busy(self) -> bool:
        """A step is running now."""
        return self._busy

    async def run(self) -> None:
        while True:
            while await self._once():
                pass
            await woken_or_timed_out(self._wake, self.poll_seconds)

    async def _once(self) -> bool:
        self._busy = True
        try:
            if self.finish_on_shutdown is None:
                return await self._step()
            return await self._finishing(self.finish_on_shutdown)
        except Exception:
            log.exception("%s: step failed; trying again at the next poll", self.name)
            return False
        finally:
            self._busy = False

    async def _finishing(self, grace: float) -> bool:
        task = asyncio.ensure_future(self._step())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, grace)
            raise
