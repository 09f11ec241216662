"""Kafka entrypoints of the notifier."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaMessage
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent_sdk import BrandAppView
from ciam_notifier.apps import declared_now, stop_app
from ciam_notifier.parts import NotifierRuntime
from ciam_notifier.service import confirmations, fanout, suppression
from ciam_shared.broker import RETRY_DELAY_SECONDS, SAFE_ACK_POLICY, subscribe_idempotent
from ciam_shared.db import after_commit, unit_of_work, utcnow
from ciam_shared.events import (
    CHANGE_EVENTS,
    BrandAppDeleted,
    CloudEvent,
    ConsentChange,
    EventData,
)
from ciam_shared.topics import BRAND_APPS, CONSENT_CHANGES

CONSENT_GROUP = "notifier.consent-changes"
APPS_GROUP = "notifier.brand-apps"
log = logging.getLogger(__name__)


def register_subscribers(
    runtime: NotifierRuntime,
    apps: BrandAppView,
    apps_ready: asyncio.Event,
    deliver_now: Callable[[list[fanout.Immediate]], None],  # also wakes the worker's round
    fast_path: Callable[[], bool],
    wake_streams: Callable[[], None],
    wake_messages: Callable[[], None] | None,
) -> None:
    """`wake_messages` None: confirmation emails are off (no auth client configured).
    `apps_ready` is set once `apps` has read its topic: the broker's subscribers start before
    the service's startup hooks, and a change fanned out before that would reach no app."""

    async def on_consent_change(session: AsyncSession, event: CloudEvent[ConsentChange]) -> None:
        await apps_ready.wait()
        await suppression.follow_change(session, event)
        new, immediate = await fanout.fan_out(
            session, event, lambda app: declared_now(apps, app), fast=fast_path()
        )
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
    _subscribe_app_deletions(runtime)


def _subscribe_app_deletions(runtime: NotifierRuntime) -> None:
    """An app deleted at the auth service: its deletion event, or only the tombstone once
    compaction removed the event, stops its subscriptions. Not `subscribe_idempotent`: a
    tombstone has no event id, and stopping twice changes nothing anyway."""
    sessions = runtime.sessions

    async def on_brand_app(message: KafkaMessage) -> None:
        raw = message.raw_message
        key = getattr(raw, "key", None)
        if not isinstance(key, bytes):
            return
        event_type: object = (message.headers or {}).get("ce_type")
        if isinstance(event_type, bytes):
            event_type = event_type.decode(errors="replace")
        if message.body and event_type != BrandAppDeleted.event_type:
            return  # a registration: the BrandAppView follows those
        client_id = key.decode(errors="replace")
        # The record's time (the deletion event's own time is in its data; the broker's
        # timestamp serves both it and a bare tombstone, and is never earlier).
        timestamp = getattr(raw, "timestamp", None)
        deleted_at = (
            datetime.fromtimestamp(timestamp / 1000, UTC)
            if isinstance(timestamp, int) and timestamp > 0
            else utcnow()
        )
        try:
            async with unit_of_work(sessions) as session:
                stopped = await stop_app(session, client_id, deleted_at)
        except Exception:
            log.exception("stopping a deleted app's subscriptions failed; retrying")
            await asyncio.sleep(RETRY_DELAY_SECONDS)
            raise
        if stopped:
            log.info("stopped a deleted app's subscriptions", extra={"count": stopped})

    runtime.broker.subscriber(
        BRAND_APPS.name(runtime.topic_prefix),
        group_id=APPS_GROUP,
        ack_policy=SAFE_ACK_POLICY,
        auto_offset_reset="earliest",
        title=f"{BRAND_APPS.name(runtime.topic_prefix)}:{APPS_GROUP}",
        description="Deleted brand apps: their webhook subscriptions stop.",
    )(on_brand_app)
