"""Idempotent consumers: the ids of processed events, recorded with the consumer's effect."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, MetaData, String, Table, Uuid
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_shared.db import TimestampTZ, utcnow

PROCESSED_EVENTS = "processed_events"


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        PROCESSED_EVENTS,
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", TimestampTZ(), nullable=False, default=utcnow),
    )


async def record_processed(session: AsyncSession, consumer: str, event_id: uuid.UUID) -> bool:
    """True the first time `consumer` sees `event_id` in this transaction's view, else False.

    Call inside the transaction that applies the effect: if the effect rolls back, so does this
    record, and the redelivered event is applied then.
    """
    table = _table_of(session)
    statement = (
        postgresql.insert(table)
        .values(consumer=consumer, event_id=event_id, processed_at=utcnow())
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _table_of(session: AsyncSession) -> Table:
    table = session.info.get(PROCESSED_EVENTS)
    if not isinstance(table, Table):
        raise RuntimeError("the session factory was not built with ciam_shared.service.sessions")
    return table
