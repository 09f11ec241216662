"""Work done after the answer has left: the steps whose cost depends on whether an account
exists (looking it up, writing it, issuing a token), so that the answer's timing cannot tell.

A job runs in its own transaction (`unit_of_work`); a failing job is logged and dropped (the
customer asks again: "send the link again"). On shutdown the job in hand is finished (a job
cancelled in the middle of a database call could leave its connection to hang the engine's
disposal); the jobs still queued are lost, never half of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
FINISH_ON_SHUTDOWN_SECONDS = 10.0


class Jobs:
    def __init__(self, maxsize: int = 10_000) -> None:
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=maxsize)
        self._running = False

    def submit(self, job: Job) -> None:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            log.error("job queue full: a job was dropped")

    def idle(self) -> bool:
        """Nothing queued and nothing running (tests wait for it before they end)."""
        return self._queue.empty() and not self._running

    async def run(self) -> None:
        while True:
            job = await self._queue.get()
            self._running = True
            task = asyncio.ensure_future(job())
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(task, FINISH_ON_SHUTDOWN_SECONDS)
                raise
            except Exception:
                log.exception("background job failed")
            finally:
                self._running = False
