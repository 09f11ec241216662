"""The loop behind the durable queues (mailer.py, jobs.py): `ciam_shared.worker`'s, woken right
after a commit that queued something, and every `poll_seconds` anyway, for what a wake-up cannot
cover (rows left by a crashed or stopped instance, rows committed by another replica, retries
that fell due).

Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of replicas may run the loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from ciam_shared.backoff import Backoff
from ciam_shared.worker import WorkerLoop

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


class Worker(WorkerLoop):
    """Runs `step` (True: it did something, run it again) when woken or polled; on shutdown
    the step in hand is finished (`ciam_shared.worker`)."""

    def __init__(self, name: str, step: Callable[[], Awaitable[bool]], poll_seconds: float) -> None:
        super().__init__(name, step, poll_seconds, finish_on_shutdown=FINISH_ON_SHUTDOWN_SECONDS)
