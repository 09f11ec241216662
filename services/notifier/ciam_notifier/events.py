"""Kafka entrypoints of the notifier: module-level handlers with typed payloads.

What a handler needs besides its record reaches it through FastStream's context: `Handling`
(set once per broker by `subscribe`), the record's transaction and envelope
(ciam_shared.handlers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Annotated, Any

from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_consent_sdk import BrandAppView
from ciam_notifier.apps import declared_now, stop_app
from ciam_notifier.parts import NotifierRuntime
from ciam_notifier.service import fanout, privacy
from ciam_notifier.service.changes import ChangeWriter
from ciam_shared.broker import RETRY_DELAY_SECONDS, SAFE_ACK_POLICY
from ciam_shared.db import unit_of_work, utcnow
from ciam_shared.events import (
    CHANGE_EVENTS,
    BrandAppDeleted,
    CloudEvent,
    ConsentChange,
    DataExportRequested,
    UserDeleted,
)
from ciam_shared.handlers import (
    PARTS,
    Context,
    Event,
    Session,
    SkipUnhandled,
    event_type_of,
    handles,
    inbox_subscriber,
    provide_parts,
)
from ciam_shared.topics import (
    BRAND_APPS,
    CONSENT_CHANGES,
    IDENTITY_EVENTS,
    PRIVACY_REQUESTS,
)

CONSENT_GROUP = "notifier.consent-changes"
APPS_GROUP = "notifier.brand-apps"
IDENTITY_GROUP = "notifier.identity-events"
PRIVACY_GROUP = "notifier.privacy-requests"
# The privacy handlers' own key in the broker's context (no dot: Context reads it as a path).
PRIVACY = "ciam_notifier_privacy"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handling:
    """What the notifier's handlers need of the running service.

    `wake_messages` None: confirmation emails are off (no auth client configured).
    `apps_ready` is set once `apps` has read its topic: the broker's subscribers start before
    the service's startup hooks, and a change fanned out before that would reach no app."""

    sessions: async_sessionmaker[AsyncSession]
    apps: BrandAppView
    apps_ready: asyncio.Event
    deliver_now: Callable[[list[fanout.Immediate]], None]  # also wakes the worker's round
    fast_path: Callable[[], bool]
    wake_streams: Callable[[], None]
    wake_messages: Callable[[], None] | None
    # The consent-change consumer's writer (its own connections, its subscription index):
    # built from `sessions`' database unless given.
    writer: ChangeWriter | None = None

    @cached_property
    def changes(self) -> ChangeWriter:
        if self.writer is not None:
            return self.writer
        bind = self.sessions.kw["bind"]
        return ChangeWriter(bind.url, CONSENT_GROUP)


Parts = Annotated[Handling, Context(PARTS)]


@dataclass(frozen=True)
class PrivacyHandling:
    """What the privacy centre's handlers need: where their answers go."""

    topic_prefix: str


PrivacyParts = Annotated[PrivacyHandling, Context(PRIVACY)]


async def on_consent_change(data: ConsentChange, event: Event, parts: Parts) -> None:
    """A consent change: fanned out to the webhook subscriptions and streams that declared its
    purpose, a confirmation queued, the suppression list followed; in one statement
    (`service.changes`), the inbox row with it."""
    change: CloudEvent[ConsentChange] = event
    await parts.apps_ready.wait()
    wake_messages = parts.wake_messages
    applied = await parts.changes.apply(
        change,
        lambda app: declared_now(parts.apps, app),
        fast=parts.fast_path(),
        confirm=wake_messages is not None,
    )
    if not applied.new:
        return  # a duplicate: applied once already
    # Committed (the statement was its own transaction): what the old transaction's
    # after-commit hooks did.
    if applied.queued:
        parts.deliver_now(applied.immediate)
    if wake_messages is not None and applied.confirmation:
        wake_messages()
    parts.wake_streams()


async def on_user_deleted(data: UserDeleted, session: Session, parts: PrivacyParts) -> None:
    """A deleted account: its messages, deliveries, suppressions and stream events go, and the
    privacy centre is told so."""
    await privacy.erase_subject(session, data.subject_id, topic_prefix=parts.topic_prefix)


async def on_data_export_requested(
    data: DataExportRequested, session: Session, parts: PrivacyParts
) -> None:
    """A customer asked for their data: the notifier's part goes back to the privacy centre."""
    await privacy.answer_export(session, data, topic_prefix=parts.topic_prefix)


async def on_brand_app_deleted(data: BrandAppDeleted, message: KafkaMessage, parts: Parts) -> None:
    """An app deleted at the auth service: its webhook subscriptions stop."""
    await _stop_app(parts, message)


async def on_brand_app_tombstone(message: KafkaMessage, parts: Parts) -> None:
    """The tombstone of a deleted app (all that is left once compaction removed its deletion
    event): its webhook subscriptions stop."""
    await _stop_app(parts, message)


async def _stop_app(parts: Handling, message: Any) -> None:
    # Not an inbox subscriber: a tombstone has no event id, and stopping twice changes nothing.
    raw = message.raw_message
    key = getattr(raw, "key", None)
    if not isinstance(key, bytes):
        return
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
        async with unit_of_work(parts.sessions) as session:
            stopped = await stop_app(session, client_id, deleted_at)
    except Exception:
        log.exception("stopping a deleted app's subscriptions failed; retrying")
        await asyncio.sleep(RETRY_DELAY_SECONDS)
        raise
    if stopped:
        log.info("stopped a deleted app's subscriptions", extra={"count": stopped})


# Coroutines: FastStream runs a plain function filter in a worker thread.
async def _is_deletion(message: Any) -> bool:
    return bool(message.body) and event_type_of(message) == BrandAppDeleted.event_type


async def _is_tombstone(message: Any) -> bool:
    return not message.body  # a registration (with a body) is the BrandAppView's


def subscribe(broker: KafkaBroker, prefix: str, handling: Handling) -> None:
    """The notifier's subscribers on `broker` (the service's, or a test broker's)."""
    provide_parts(broker, handling)
    changes = inbox_subscriber(
        broker,
        topic=CONSENT_CHANGES,
        prefix=prefix,
        group_id=CONSENT_GROUP,
        sessions=None,  # the handler's one statement writes the inbox row (service.changes)
        description="Consent changes, fanned out to webhook subscriptions.",
        # Webhook latency: a change must not wait out a fetch already in flight (see
        # subscribe_idempotent); 50 ms costs an idle consumer 20 small fetches a second.
        fetch_max_wait_ms=50,
    )
    handles(changes, *CHANGE_EVENTS.values())(on_consent_change)

    provide_parts(broker, PrivacyHandling(prefix), key=PRIVACY)
    identity = inbox_subscriber(
        broker,
        topic=IDENTITY_EVENTS,
        prefix=prefix,
        group_id=IDENTITY_GROUP,
        sessions=handling.sessions,
        description="Deleted accounts: what the notifier holds about them is erased.",
    )
    handles(identity, UserDeleted)(on_user_deleted)
    requests = inbox_subscriber(
        broker,
        topic=PRIVACY_REQUESTS,
        prefix=prefix,
        group_id=PRIVACY_GROUP,
        sessions=handling.sessions,
        description="Data export requests of the privacy centre.",
    )
    handles(requests, DataExportRequested)(on_data_export_requested)

    topic = BRAND_APPS.name(prefix)
    router = KafkaRouter(middlewares=[SkipUnhandled])  # registrations: acknowledged, skipped
    apps = router.subscriber(
        topic,
        group_id=APPS_GROUP,
        ack_policy=SAFE_ACK_POLICY,
        auto_offset_reset="earliest",
        title=f"{topic}:{APPS_GROUP}",
        description="Deleted brand apps: their webhook subscriptions stop.",
    )
    apps(filter=_is_deletion)(on_brand_app_deleted)
    apps(filter=_is_tombstone)(on_brand_app_tombstone)
    broker.include_router(router)


def register_subscribers(
    runtime: NotifierRuntime,
    apps: BrandAppView,
    apps_ready: asyncio.Event,
    deliver_now: Callable[[list[fanout.Immediate]], None],
    fast_path: Callable[[], bool],
    wake_streams: Callable[[], None],
    wake_messages: Callable[[], None] | None,
    writer: ChangeWriter | None = None,
) -> None:
    handling = Handling(
        runtime.sessions,
        apps,
        apps_ready,
        deliver_now,
        fast_path,
        wake_streams,
        wake_messages,
        writer,
    )
    subscribe(runtime.broker, runtime.topic_prefix, handling)
