"""A consent change becomes one delivery per subscription that asked for it.

The fast path (while the worker has room for more in flight): a delivery that is the only
pending one of its (subscription, subject), to an active subscription, is queued with
`next_attempt_at` a lease ahead (no worker round picks it up meanwhile) and handed to the
delivery worker to POST right after the consumer's statement commits, without a polling
round's query (the statement and the index it is computed from: `service.changes`). If the
process stops first, the lease runs out and a round delivers it (at least once, same
webhook-id, order kept: a pending delivery holds back the subject's later ones).

An app only ever gets changes of the purposes it declares at the auth service at fan-out time
(an empty purpose filter means all of them); an app the notifier does not know gets nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ciam_notifier.models import Subscription
from ciam_shared.events import CloudEvent, ConsentChange

FAST_LEASE = timedelta(seconds=30)  # longer than a POST's timeout plus recording it


@dataclass(frozen=True)
class Immediate:
    """A delivery to POST right after the fan-out commits (see the module docstring)."""

    delivery_id: uuid.UUID
    event_id: uuid.UUID
    payload: dict[str, Any]
    subscription: Subscription
    lease_until: datetime
    # The fan-out's trace context, for a delivery a worker round claims later (the fast path
    # POSTs inside the fan-out's own span).
    traceparent: str | None = None


# The purposes an app declares now (none for an unknown app).
Declared = Callable[[str], frozenset[str]]


def wants(
    subscription: Subscription, event: CloudEvent[ConsentChange], declared: frozenset[str]
) -> bool:
    data = event.data
    return (
        data.purpose in declared
        and (not subscription.event_types or event.type in subscription.event_types)
        and (not subscription.purposes or data.purpose in subscription.purposes)
        and (not subscription.brands or data.brand is None or data.brand in subscription.brands)
    )


def webhook_payload(event: CloudEvent[ConsentChange]) -> dict[str, Any]:
    """The Standard Webhooks payload shape: type, timestamp, data."""
    return {
        "type": event.type,
        "timestamp": event.time.isoformat(),
        "data": event.data.model_dump(mode="json"),
    }
