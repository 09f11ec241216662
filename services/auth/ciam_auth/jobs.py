"""Work done after the answer has left: the steps whose cost depends on whether an account
exists (looking it up, writing it, issuing a token), so that the answer's timing cannot tell.

A job runs in its own transaction (`unit_of_work`); a failing job is logged and dropped (the
customer asks again: "send the link again"). A crash loses the jobs not yet run, never half
of one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Jobs:
    def __init__(self, maxsize: int = 10_000) -> None:
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=maxsize)

    def submit(self, job: Job) -> None:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            log.error("job queue full: a job was dropped")

    async def run(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except Exception:
                log.exception("background job failed")
