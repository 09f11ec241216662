"""Kafka entrypoints of the notifier."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_notifier.service import confirmations, fanout, suppression
from ciam_shared.broker import subscribe_idempotent
from ciam_shared.db import after_commit
from ciam_shared.events import CHANGE_EVENTS, CloudEvent, ConsentChange, EventData
from ciam_shared.service import ServiceRuntime
from ciam_shared.topics import CONSENT_CHANGES

CONSENT_GROUP = "notifier.consent-changes"


def register_subscribers(
    runtime: ServiceRuntime,
    deliver_now: Callable[[list[fanout.Immediate]], None],  # also wakes the worker's round
    fast_path: Callable[[], bool],
    wake_streams: Callable[[], None],
    wake_messages: Callable[[], None] | None,
) -> None:
    """`wake_messages` None: confirmation emails are off (no auth client configured)."""

    async def on_consent_change(session: AsyncSession, event: CloudEvent[ConsentChange]) -> None:
        await suppression.follow_change(session, event)
        new, immediate = await fanout.fan_out(session, event, fast=fast_path())
        if new:
            after_commit(session, lambda: deliver_now(immediate))
        if wake_messages is not None and await confirmations.queue_confirmation(session, event):
            after_commit(session, wake_messages)
        after_commit(session, wake_streams)

    handlers: dict[type[EventData], Any] = {
        model: on_consent_change for model in CHANGE_EVENTS.values()
    }
    subscribe_idempotent(
        runtime.broker,
        topic=CONSENT_CHANGES,
        prefix=runtime.topic_prefix,
        group_id=CONSENT_GROUP,
        sessions=runtime.sessions,
        handlers=handlers,
        description="Consent changes, fanned out to webhook subscriptions.",
        # Webhook latency: a change must not wait out a fetch already in flight (see
        # subscribe_idempotent); 50 ms costs an idle consumer 20 small fetches a second.
        fetch_max_wait_ms=50,
    )
