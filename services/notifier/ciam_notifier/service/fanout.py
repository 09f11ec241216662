"""A consent change becomes one delivery per subscription that asked for it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_notifier import repository
from ciam_notifier.models import Subscription
from ciam_shared.db import new_id, utcnow
from ciam_shared.events import CloudEvent, ConsentChange


def wants(subscription: Subscription, event: CloudEvent[ConsentChange]) -> bool:
    data = event.data
    return (
        (not subscription.event_types or event.type in subscription.event_types)
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


async def fan_out(session: AsyncSession, event: CloudEvent[ConsentChange]) -> int:
    """Keep the change for live streams and queue it for every interested endpoint; returns
    how many deliveries were queued."""
    now = utcnow()
    await repository.add_stream_event_once(
        session,
        {
            "event_id": event.id,
            "subject_id": event.data.subject_id,
            "event_type": event.type,
            "payload": webhook_payload(event),
            "created_at": now,
        },
    )
    payload = webhook_payload(event)
    rows = [
        {
            "id": new_id(),
            "subscription_id": subscription.id,
            "subject_id": event.data.subject_id,
            "event_id": event.id,
            "event_type": event.type,
            "version": event.data.version,
            "payload": payload,
            "status": repository.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for subscription in await repository.all_subscriptions(session)
        if wants(subscription, event)
    ]
    return await repository.add_deliveries_once(session, rows)
