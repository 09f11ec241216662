"""When to try a failed attempt again: exponential, capped, jittered over the upper half of the
step. Used by auth's durable queues, the notifier's webhook deliveries and its messages.

The jitter spreads out retries of many rows that failed together (an SMTP outage, a webhook
receiver down): they come back over half a step instead of in one burst.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Backoff:
    """Attempt n (from 1) waits between half and all of `base * 2^(n-1)`, at most `cap`."""

    base_seconds: float
    cap_seconds: float

    def ceiling(self, attempts: int) -> float:
        """The longest wait after `attempts` failed attempts (0 counts as 1)."""
        return min(self.cap_seconds, self.base_seconds * 2.0 ** max(attempts - 1, 0))

    def delay(self, attempts: int) -> float:
        """Seconds to wait after `attempts` failed attempts, jittered."""
        ceiling = self.ceiling(attempts)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret

    def after(self, attempts: int, now: datetime) -> datetime:
        """When the next attempt is due."""
        return now + timedelta(seconds=self.delay(attempts))
