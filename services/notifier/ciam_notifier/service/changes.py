"""A consent change applied in one statement, against an in-memory index of the subscriptions.

The consumer used to open a transaction and run seven statements per change (the inbox row,
suppressions, the stream event, every subscription, the pending check, the deliveries, the
confirmation), each a round trip to PostgreSQL, plus BEGIN, COMMIT and the pool's ping. Now:

- the subscriptions live in memory (`SubscriptionIndex`), labelled with the version of
  `subscription_index_version`, a counter a trigger bumps in the transaction of every change
  to `subscriptions`, whichever replica or path made it;
- the change is one statement, on a connection in autocommit (one statement, one implicit
  transaction: all of it or none), which applies nothing unless the counter still equals the
  index's version. The fan-out is computed from the index before it; a stale index (the
  statement answers `current` false) is reloaded and the statement run again;
- the inbox row is the statement's first effect and every other effect depends on it being
  new, so a redelivered change does nothing, as with `ciam_shared.inbox`.

In the steady state that is one round trip per change. The connection comes from a pool of
its own without pre-ping: a connection the server dropped fails the statement, the record is
delivered again after a pause (the consumer's policy) and a new connection is opened.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from ciam_notifier import repository
from ciam_notifier.models import Subscription, subscription_index_version
from ciam_notifier.service import confirmations, fanout, suppression
from ciam_notifier.service.fanout import Declared, Immediate, wants, webhook_payload
from ciam_shared.db import new_id, utcnow
from ciam_shared.events import CloudEvent, ConsentChange, ConsentStatus
from ciam_shared.observability import tracing

# Each effect runs only when the inbox row is new (`processed`), and the inbox row is written
# only while the subscriptions index is current (`current`). Data-modifying CTEs all run, on
# one snapshot: the pending check sees the deliveries queued before this change, not its own.
APPLY = text(
    """
WITH index_current AS (
    SELECT 1 FROM subscription_index_version
    WHERE id = 1 AND version = CAST(:index_version AS bigint)
), processed AS (
    INSERT INTO processed_events (consumer, event_id, processed_at)
    SELECT :consumer, CAST(:event_id AS uuid), CAST(:now AS timestamptz) FROM index_current
    ON CONFLICT DO NOTHING
    RETURNING 1
), lifted AS (
    DELETE FROM suppressions
    WHERE CAST(:lift AS boolean) AND EXISTS (SELECT FROM processed)
      AND channel = ANY(CAST(:channels AS varchar[]))
      AND subject_id = CAST(:subject AS uuid) AND purpose = :purpose
), suppressed AS (
    INSERT INTO suppressions (channel, subject_id, purpose, reason, since)
    SELECT channel, CAST(:subject AS uuid), :purpose, :reason, CAST(:now AS timestamptz)
    FROM unnest(CAST(:channels AS varchar[])) AS channel
    WHERE NOT CAST(:lift AS boolean) AND EXISTS (SELECT FROM processed)
    ON CONFLICT (channel, subject_id, purpose)
    DO UPDATE SET reason = excluded.reason, since = excluded.since
), streamed AS (
    INSERT INTO stream_events (event_id, subject_id, event_type, payload, created_at)
    SELECT
        CAST(:event_id AS uuid), CAST(:subject AS uuid), :event_type, CAST(:payload AS json),
        CAST(:now AS timestamptz)
    WHERE EXISTS (SELECT FROM processed)
    ON CONFLICT DO NOTHING
), queued AS (
    INSERT INTO deliveries (
        id, subscription_id, subject_id, event_id, event_type, version, payload, status,
        attempts, next_attempt_at, created_at, traceparent
    )
    SELECT
        wanted.id, wanted.subscription_id, CAST(:subject AS uuid), CAST(:event_id AS uuid),
        :event_type, CAST(:version AS integer), CAST(:payload AS json), 'pending', 0,
        CASE WHEN wanted.fast AND NOT EXISTS (
            SELECT FROM deliveries earlier
            WHERE earlier.subscription_id = wanted.subscription_id
              AND earlier.subject_id = CAST(:subject AS uuid) AND earlier.status = 'pending'
        ) THEN CAST(:lease_until AS timestamptz) ELSE CAST(:now AS timestamptz) END,
        CAST(:now AS timestamptz), :traceparent
    FROM unnest(
        CAST(:delivery_ids AS uuid[]),
        CAST(:subscription_ids AS uuid[]),
        CAST(:fast AS boolean[])
    ) AS wanted(id, subscription_id, fast)
    WHERE EXISTS (SELECT FROM processed)
    ON CONFLICT DO NOTHING
    RETURNING id, next_attempt_at = CAST(:lease_until AS timestamptz) AS at_once
), confirmed AS (
    INSERT INTO messages (
        id, idempotency_key, kind, app, subject_id, purpose, channel, brand, recipient, title,
        body, change, status, attempts, requested_at, not_before
    )
    SELECT
        CAST(:message_id AS uuid), :message_key, :message_kind, :message_app,
        CAST(:subject AS uuid), :purpose, 'email', :brand, NULL, NULL, '',
        CAST(:message_change AS json), 'queued', 0, CAST(:now AS timestamptz),
        CAST(:now AS timestamptz)
    WHERE CAST(:confirm AS boolean) AND EXISTS (SELECT FROM processed)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING 1
)
SELECT
    EXISTS (SELECT FROM index_current) AS index_current,
    EXISTS (SELECT FROM processed) AS applied,
    (SELECT count(*) FROM queued) AS queued,
    (SELECT array_agg(id) FROM queued WHERE at_once) AS at_once,
    EXISTS (SELECT FROM confirmed) AS confirmation
"""
)


class SubscriptionIndex:
    """Every subscription not stopped for good (active and paused: a paused endpoint's changes
    are queued and held), as of `version` of `subscription_index_version`."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.subscriptions: Sequence[Subscription] = ()
        self.loads = 0  # how often it was (re)loaded: what the tests observe

    async def load(self, engine: AsyncEngine) -> None:
        # The version first, then the rows: rows newer than the version only cost a reload at
        # the next change (the counter has moved); the other order could label old rows new.
        async with AsyncSession(engine, expire_on_commit=False) as session:
            version = await session.scalar(
                select(subscription_index_version.c.version).where(
                    subscription_index_version.c.id == 1
                )
            )
            rows = await repository.all_subscriptions(session)
            session.expunge_all()  # plain snapshots, read by the fan-out and the POSTs
        self.version = int(version or 0)
        self.subscriptions = rows
        self.loads += 1


@dataclass(frozen=True)
class Applied:
    new: bool  # False: a redelivered change, nothing done
    queued: int
    immediate: list[Immediate]
    confirmation: bool


class ChangeWriter:
    """Applies consent changes for the consumer group `consumer` (see the module docstring)."""

    MAX_RELOADS = 5  # subscriptions changing faster than this: the record is retried later

    def __init__(self, url: URL | str, consumer: str) -> None:
        self.url = url
        self.consumer = consumer
        self.index = SubscriptionIndex()
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            # hide_parameters: an error's text leaves out the values (as ciam_shared.db does).
            self._engine = create_async_engine(
                self.url,
                isolation_level="AUTOCOMMIT",
                pool_pre_ping=False,
                pool_size=1,
                max_overflow=1,
                hide_parameters=True,
            )
        return self._engine

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def apply(
        self,
        event: CloudEvent[ConsentChange],
        declared: Declared,
        *,
        fast: bool,
        confirm: bool,
    ) -> Applied:
        for _ in range(self.MAX_RELOADS):
            if self.index.version is None:
                await self.index.load(self.engine)
            applied = await self._apply_once(event, declared, fast=fast, confirm=confirm)
            if applied is not None:
                return applied
            self.index.version = None  # stale: another transaction changed a subscription
        raise RuntimeError("the subscriptions kept changing; the change will be retried")

    async def _apply_once(
        self,
        event: CloudEvent[ConsentChange],
        declared: Declared,
        *,
        fast: bool,
        confirm: bool,
    ) -> Applied | None:
        data = event.data
        now = utcnow()
        lease_until = now + fanout.FAST_LEASE
        interested = [s for s in self.index.subscriptions if wants(s, event, declared(s.app))]
        ids = [new_id() for _ in interested]
        channels = suppression.channels_of(data)
        payload = webhook_payload(event)
        params: dict[str, Any] = {
            "index_version": self.index.version,
            "consumer": self.consumer,
            "event_id": event.id,
            "now": now,
            "lift": data.status is ConsentStatus.GRANTED,
            "channels": list(channels),
            "subject": data.subject_id,
            "purpose": data.purpose,
            "reason": data.status.value,
            "event_type": event.type,
            "payload": json.dumps(payload, separators=(",", ":")),
            "version": data.version,
            "lease_until": lease_until,
            "traceparent": tracing.current_traceparent(),
            "delivery_ids": ids,
            "subscription_ids": [s.id for s in interested],
            "fast": [fast and s.status == "active" for s in interested],
            "confirm": confirm,
            "message_id": new_id(),
            "message_key": confirmations.key_of(event),
            "message_kind": confirmations.KIND,
            "message_app": confirmations.APP,
            "brand": data.brand,
            "message_change": json.dumps(confirmations.change_of(data)),
        }
        async with self.engine.connect() as connection:
            row = (await connection.execute(APPLY, params)).one()
        if not row.index_current:
            return None
        at_once: set[uuid.UUID] = set(row.at_once or ())
        by_delivery = dict(zip(ids, interested, strict=True))
        immediate = [
            Immediate(delivery_id, event.id, payload, by_delivery[delivery_id], lease_until)
            for delivery_id in ids
            if delivery_id in at_once
        ]
        return Applied(bool(row.applied), int(row.queued), immediate, bool(row.confirmation))
