"""The loop behind the durable queues (mailer.py, jobs.py): woken right after a commit that
queued something, and every `poll_seconds` anyway, for what a wake-up cannot cover (rows left
by a crashed or stopped instance, rows committed by another replica, retries that fell due).

Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of replicas may run the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from ciam_shared.backoff import Backoff
from ciam_shared.wake import woken_or_timed_out

log = logging.getLogger(__name__)

# On shutdown the step in hand is finished (a step cancelled in the middle of a database call
# could leave its connection to hang the engine's disposal); nothing queued is lost: it waits
# in its table for the next start.
FINISH_ON_SHUTDOWN_SECONDS = 10.0


@dataclass(frozen=True)
class Retry:
    """When to try again, and when to stop."""

    max_attempts: int = 10
    base_seconds: float = 30.0
    max_seconds: float = 3600.0

    def next_attempt(self, attempts: int, now: datetime) -> datetime:
        """Exponential backoff with jitter (`ciam_shared.backoff`)."""
        return Backoff(self.base_seconds, self.max_seconds).after(attempts, now)


class Worker:
    """Runs `step` (True: it did something, run it again) when woken or polled."""

    def __init__(self, name: str, step: Callable[[], Awaitable[bool]], poll_seconds: float) -> None:
        self.name = name
        self._step = step
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._busy = False

    def wake(self) -> None:
        self._wake.set()

    def busy(self) -> bool:
        return self._busy

    async def run(self) -> None:
        while True:
            while await self._once():
                pass
            await woken_or_timed_out(self._wake, self.poll_seconds)

    async def _once(self) -> bool:
        self._busy = True
        task = asyncio.ensure_future(self._step())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, FINISH_ON_SHUTDOWN_SECONDS)
            raise
        except Exception:
            log.exception("%s: step failed; trying again at the next poll", self.name)
            return False
        finally:
            self._busy = False
