"""Every query of the consent service."""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


async def latest_history_per_purpose(
    session: AsyncSession, subject_id: uuid.UUID
) -> list[HistoryEntry]:
    """Each purpose's newest entry, oldest first: one row per purpose however long the
    subject's history is (PostgreSQL's DISTINCT ON)."""
    newest = (
        await session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.subject_id == subject_id)
            .ext(postgresql.distinct_on(HistoryEntry.purpose_id))
            .order_by(HistoryEntry.purpose_id, HistoryEntry.version.desc())
        )
    ).all()
    return sorted(newest, key=lambda e: e.version)


async def history_page(
    session: AsyncSession, subject_id: uuid.UUID, *, version: int | None, last: int | None
) -> list[HistoryEntry]:
    """The entry `version` (when given) among the `last` newest (when given), oldest first."""
    query = select(HistoryEntry).where(HistoryEntry.subject_id == subject_id)
    if version is not None:
        query = query.where(HistoryEntry.version == version)
    query = query.order_by(HistoryEntry.version.desc())
    if last is not None:
        query = query.limit(last)
    return list(reversed((await session.scalars(query)).all()))


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


async def acks_of(
    session: AsyncSession, subject_id: uuid.UUID, from_version: int = 0
) -> Sequence[PropagationAck]:
    """The subject's acknowledgements of version `from_version` or later."""
    return (
        await session.scalars(
            select(PropagationAck)
            .where(PropagationAck.subject_id == subject_id, PropagationAck.version >= from_version)
            .order_by(PropagationAck.version)
        )
    ).all()


async def lock_catalogue(session: AsyncSession) -> None:
    """Until the transaction ends, no other transaction seeds the catalogue (replicas start
    together on one new database, each seeding it)."""
    await session.execute(select(func.pg_advisory_xact_lock(CATALOGUE_LOCK)))


async def count_purposes(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Purpose)) or 0)


# The hot path of a change (ciam_consent.service.changes.apply_changes): plain SQL on the
# session's own connection and transaction, through asyncpg's prepared statements, with no ORM
# unit of work and no SQL compilation per request (a profile put the ORM and SQLAlchemy's
# compiler at over half of the service's CPU per change). Three statements per request: the
# subject's lock, its current records, and one statement that writes everything.


@dataclass(frozen=True)
class SubjectHead:
    version: int
    head_hash: str | None
    erased_at: datetime | None
    catalogue_versions: int  # how many purpose versions exist: the catalogue cache's check


@dataclass
class CurrentRecord:
    """A subject's current record for one purpose x brand x channel, as the hot path reads
    and writes it (the same fields as `ConsentRecord`)."""

    id: uuid.UUID
    subject_id: uuid.UUID
    purpose_id: str
    brand: str
    channel: str
    status: str
    purpose_version: int
    collected_via: str
    version: int
    updated_at: datetime
    expires_at: datetime | None


_LOCK_SUBJECT = """
WITH s AS (
    INSERT INTO subjects (id, known_since, version) VALUES ($1, $2, 0)
    ON CONFLICT (id) DO UPDATE SET id = excluded.id
    RETURNING version, head_hash, erased_at
)
SELECT s.version, s.head_hash, s.erased_at,
       (SELECT count(*) FROM purpose_versions)::int AS catalogue_versions
FROM s
"""

_RECORDS = """
SELECT id, subject_id, purpose_id, brand, channel, status, purpose_version, collected_via,
       version, updated_at, expires_at
FROM consent_records WHERE subject_id = $1
ORDER BY purpose_id, brand, channel
"""

# Every write of one request in one statement: the history entries, the current records
# (upserted on their purpose x brand x channel), the outbox rows (in order: their `seq`
# follows the ordinality) and the subject's new version and chain head.
_WRITE = """
WITH history AS (
    INSERT INTO consent_history (event_id, subject_id, version, purpose_id, purpose_version,
        notice_hash, brand, channel, status, collected_via, source, occurred_at, expires_at,
        previous_hash, entry_hash, receipt)
    SELECT h.event_id, $1, h.version, h.purpose_id, h.purpose_version, h.notice_hash, h.brand,
        h.channel, h.status, h.collected_via, h.source::json, h.occurred_at, h.expires_at,
        h.previous_hash, h.entry_hash, h.receipt
    FROM unnest($4::uuid[], $5::int[], $6::text[], $7::int[], $8::text[], $9::text[],
        $10::text[], $11::text[], $12::text[], $13::text[], $14::timestamptz[],
        $15::timestamptz[], $16::text[], $17::text[], $18::text[])
        AS h(event_id, version, purpose_id, purpose_version, notice_hash, brand, channel,
             status, collected_via, source, occurred_at, expires_at, previous_hash,
             entry_hash, receipt)
), records AS (
    INSERT INTO consent_records (id, subject_id, purpose_id, brand, channel, status,
        purpose_version, collected_via, version, updated_at, expires_at)
    SELECT r.id, $1, r.purpose_id, r.brand, r.channel, r.status, r.purpose_version,
        r.collected_via, r.version, r.updated_at, r.expires_at
    FROM unnest($19::uuid[], $20::text[], $21::text[], $22::text[], $23::text[], $24::int[],
        $25::text[], $26::int[], $27::timestamptz[], $28::timestamptz[])
        AS r(id, purpose_id, brand, channel, status, purpose_version, collected_via, version,
             updated_at, expires_at)
    ON CONFLICT (subject_id, purpose_id, brand, channel) DO UPDATE SET
        status = excluded.status, purpose_version = excluded.purpose_version,
        collected_via = excluded.collected_via, version = excluded.version,
        updated_at = excluded.updated_at, expires_at = excluded.expires_at
), staged AS (
    INSERT INTO outbox (event_id, topic, key, event_type, headers, payload, created_at,
        attempts)
    SELECT o.event_id, o.topic, o.key, o.event_type, o.headers::json, o.payload, o.created_at, 0
    FROM unnest($29::uuid[], $30::text[], $31::text[], $32::text[], $33::text[], $34::bytea[],
        $35::timestamptz[]) WITH ORDINALITY
        AS o(event_id, topic, key, event_type, headers, payload, created_at, n)
    ORDER BY o.n
)
UPDATE subjects SET version = $2, head_hash = $3 WHERE id = $1
"""


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the session's transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def lock_subject_head(session: AsyncSession, subject_id: uuid.UUID) -> SubjectHead:
    """`lock_subject` for the hot path: the subject's row, created if new and locked until
    the transaction ends, and the size of the purpose catalogue, in one round trip. Sent
    through SQLAlchemy, whose first statement opens the session's transaction."""
    connection = await session.connection()
    row = (await connection.exec_driver_sql(_LOCK_SUBJECT, (subject_id, utcnow()))).one()
    return SubjectHead(row.version, row.head_hash, row.erased_at, row.catalogue_versions)


async def current_records(session: AsyncSession, subject_id: uuid.UUID) -> list[CurrentRecord]:
    """The subject's current records; read after `lock_subject_head` (under the lock)."""
    driver = await _driver(session)
    return [CurrentRecord(**dict(r)) for r in await driver.fetch(_RECORDS, subject_id)]


async def write_changes(
    session: AsyncSession,
    subject_id: uuid.UUID,
    *,
    version: int,
    head_hash: str | None,
    entries: Sequence[HistoryEntry],
    records: Sequence[CurrentRecord],
    outbox_rows: Sequence[dict[str, Any]],
) -> None:
    """Write one request's changes in one statement (see `_WRITE`). `records` holds each
    changed record once, in its final state."""
    driver = await _driver(session)
    assert driver.is_in_transaction(), "the lock statement opens the transaction"
    e, r, o = entries, records, outbox_rows
    await driver.execute(
        _WRITE,
        subject_id,
        version,
        head_hash,
        [x.event_id for x in e],
        [x.version for x in e],
        [x.purpose_id for x in e],
        [x.purpose_version for x in e],
        [x.notice_hash for x in e],
        [x.brand for x in e],
        [x.channel for x in e],
        [x.status for x in e],
        [x.collected_via for x in e],
        [json.dumps(x.source) for x in e],
        [x.occurred_at for x in e],
        [x.expires_at for x in e],
        [x.previous_hash for x in e],
        [x.entry_hash for x in e],
        [x.receipt for x in e],
        [x.id for x in r],
        [x.purpose_id for x in r],
        [x.brand for x in r],
        [x.channel for x in r],
        [x.status for x in r],
        [x.purpose_version for x in r],
        [x.collected_via for x in r],
        [x.version for x in r],
        [x.updated_at for x in r],
        [x.expires_at for x in r],
        [x["event_id"] for x in o],
        [x["topic"] for x in o],
        [x["key"] for x in o],
        [x["event_type"] for x in o],
        [json.dumps(x["headers"]) for x in o],
        [x["payload"] for x in o],
        [x["created_at"] for x in o],
    )
