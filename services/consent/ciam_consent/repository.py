"""Every query of the consent service."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent.models import (
    ConsentRecord,
    HistoryEntry,
    PropagationAck,
    Purpose,
    PurposeVersion,
    Subject,
    Subscriber,
)
from ciam_shared.db import utcnow
from ciam_shared.events import ConsentStatus

CATALOGUE_LOCK = zlib.crc32(b"ciam-consent-catalogue")


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return postgresql.insert


async def subject_by_id(session: AsyncSession, subject_id: uuid.UUID) -> Subject | None:
    return await session.get(Subject, subject_id)


async def lock_subject(session: AsyncSession, subject_id: uuid.UUID) -> Subject:
    """The subject's row, created if new, locked until the transaction ends: one writer at a
    time per subject, so versions and the hash chain never fork. One round trip: an upsert
    whose no-op update takes the row lock and returns the row."""
    insert = _insert(session)(Subject).values(id=subject_id, known_since=utcnow(), version=0)
    statement = insert.on_conflict_do_update(
        index_elements=[Subject.id], set_={"id": insert.excluded.id}
    ).returning(Subject)
    subject: Subject | None = await session.scalar(
        select(Subject).from_statement(statement).execution_options(populate_existing=True)
    )
    assert subject is not None
    return subject


async def record_registration(
    session: AsyncSession, subject_id: uuid.UUID, registered_at: datetime
) -> None:
    subject = await lock_subject(session, subject_id)
    if subject.registered_at is None:
        subject.registered_at = registered_at


async def purposes(session: AsyncSession) -> Sequence[Purpose]:
    return (await session.scalars(select(Purpose).order_by(Purpose.id))).all()


async def purposes_by_id(session: AsyncSession, ids: set[str]) -> dict[str, Purpose]:
    found = await session.scalars(select(Purpose).where(Purpose.id.in_(ids)))
    return {p.id: p for p in found}


async def purpose_for_update(session: AsyncSession, purpose_id: str) -> Purpose | None:
    return await session.scalar(select(Purpose).where(Purpose.id == purpose_id).with_for_update())


async def versions_of(
    session: AsyncSession, purpose_ids: set[str]
) -> dict[tuple[str, int], PurposeVersion]:
    found = await session.scalars(
        select(PurposeVersion).where(PurposeVersion.purpose_id.in_(purpose_ids))
    )
    return {(v.purpose_id, v.version): v for v in found}


async def add(session: AsyncSession, *rows: object) -> None:
    session.add_all(rows)
    await session.flush()


async def records_of(session: AsyncSession, subject_id: uuid.UUID) -> Sequence[ConsentRecord]:
    return (
        await session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.subject_id == subject_id)
            .order_by(ConsentRecord.purpose_id, ConsentRecord.brand, ConsentRecord.channel)
            .execution_options(populate_existing=True)
        )
    ).all()


async def granted_below_version(
    session: AsyncSession, purpose_id: str, min_version: int
) -> Sequence[ConsentRecord]:
    return (
        await session.scalars(
            select(ConsentRecord).where(
                ConsentRecord.purpose_id == purpose_id,
                ConsentRecord.status == ConsentStatus.GRANTED.value,
                ConsentRecord.purpose_version < min_version,
            )
        )
    ).all()


async def expired_grants(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[ConsentRecord]:
    return (
        await session.scalars(
            select(ConsentRecord)
            .where(
                ConsentRecord.status == ConsentStatus.GRANTED.value,
                ConsentRecord.expires_at.is_not(None),
                ConsentRecord.expires_at <= now,
            )
            .limit(limit)
        )
    ).all()


async def delete_records(session: AsyncSession, subject_id: uuid.UUID) -> None:
    await session.execute(delete(ConsentRecord).where(ConsentRecord.subject_id == subject_id))


async def history_of(session: AsyncSession, subject_id: uuid.UUID) -> Sequence[HistoryEntry]:
    return (
        await session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.subject_id == subject_id)
            .order_by(HistoryEntry.version)
        )
    ).all()


async def history_entry(
    session: AsyncSession, subject_id: uuid.UUID, version: int
) -> HistoryEntry | None:
    return await session.scalar(
        select(HistoryEntry).where(
            HistoryEntry.subject_id == subject_id, HistoryEntry.version == version
        )
    )


async def record_ack(
    session: AsyncSession,
    *,
    subscriber: str,
    subject_id: uuid.UUID,
    version: int,
    event_id: uuid.UUID,
    applied_at: datetime,
) -> None:
    insert = _insert(session)
    await session.execute(
        insert(Subscriber)
        .values(name=subscriber, first_seen_at=applied_at)
        .on_conflict_do_nothing()
    )
    await session.execute(
        insert(PropagationAck)
        .values(
            subscriber=subscriber,
            subject_id=subject_id,
            version=version,
            event_id=event_id,
            applied_at=applied_at,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )


async def subscribers(session: AsyncSession) -> Sequence[Subscriber]:
    return (await session.scalars(select(Subscriber).order_by(Subscriber.name))).all()


async def acks_of(session: AsyncSession, subject_id: uuid.UUID) -> Sequence[PropagationAck]:
    return (
        await session.scalars(
            select(PropagationAck)
            .where(PropagationAck.subject_id == subject_id)
            .order_by(PropagationAck.version)
        )
    ).all()


async def lock_catalogue(session: AsyncSession) -> None:
    """Until the transaction ends, no other transaction seeds the catalogue (replicas start
    together on one new database, each seeding it)."""
    await session.execute(select(func.pg_advisory_xact_lock(CATALOGUE_LOCK)))


async def count_purposes(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Purpose)) or 0)
