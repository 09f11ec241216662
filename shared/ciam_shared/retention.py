"""Bounded bookkeeping: sent outbox rows and processed-event ids are deleted once they can no
longer matter, so a service's database grows with its customers, not with its traffic.

- A sent outbox row is kept `outbox_keep_days` (7): long enough to look at what went out and
  when; the broker holds the event itself from then on.
- A processed event id is kept `processed_events_keep_days` (30): a duplicate arrives within
  the topics' retention (7 days on the event topics) or from an outbox republished after a
  database restore; a restore older than that needs the consumers' offsets reset anyway
  (docs/operations.md, "Backups and upgrades").

Deletion runs in small batches (one short transaction each) every `prune_interval_seconds` in
each replica; two replicas deleting at once is harmless (a row deleted twice is deleted once).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Table, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_shared.db import utcnow

log = logging.getLogger(__name__)
BATCH = 5000


@dataclass(frozen=True)
class Retention:
    outbox_keep: timedelta
    processed_keep: timedelta
    interval_seconds: float


async def prune_outbox(
    sessions: async_sessionmaker[AsyncSession], outbox: Table, keep: timedelta
) -> int:
    """Delete sent rows older than `keep`, oldest first, in batches; returns how many."""
    cutoff = utcnow() - keep
    deleted = 0
    while True:
        oldest = (
            select(outbox.c.seq)
            .where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < cutoff)
            .order_by(outbox.c.seq)
            .limit(BATCH)
        )
        async with sessions() as session, session.begin():
            result = await session.execute(delete(outbox).where(outbox.c.seq.in_(oldest)))
        count = int(result.rowcount)  # type: ignore[attr-defined]
        deleted += count
        if count < BATCH:
            return deleted


async def prune_processed(
    sessions: async_sessionmaker[AsyncSession], processed: Table, keep: timedelta
) -> int:
    """Delete processed-event ids recorded before `keep`, in batches; returns how many."""
    cutoff = utcnow() - keep
    deleted = 0
    key = (processed.c.consumer, processed.c.event_id)
    while True:
        old = select(*key).where(processed.c.processed_at < cutoff).limit(BATCH)
        async with sessions() as session, session.begin():
            result = await session.execute(delete(processed).where(tuple_(*key).in_(old)))
        count = int(result.rowcount)  # type: ignore[attr-defined]
        deleted += count
        if count < BATCH:
            return deleted


async def run_pruning(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Table,
    processed: Table,
    retention: Retention,
) -> None:
    """Prune now and then every interval, until cancelled; a failure waits for the next turn."""
    while True:
        try:
            sent = await prune_outbox(sessions, outbox, retention.outbox_keep)
            seen = await prune_processed(sessions, processed, retention.processed_keep)
            if sent or seen:
                log.info("pruned", extra={"outbox_rows": sent, "processed_events": seen})
        except Exception:
            log.exception("pruning failed; trying again at the next interval")
        await asyncio.sleep(retention.interval_seconds)
