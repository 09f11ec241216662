"""Reads: current consents, history with its chain check, receipts, propagation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent import repository
from ciam_consent.errors import ReceiptNotFound, SubjectNotFound
from ciam_consent.integrity import Link, first_broken
from ciam_consent.models import ConsentRecord, HistoryEntry
from ciam_consent.service.recording import chain_fields
from ciam_shared.events import ConsentStatus


@dataclass(frozen=True)
class Current:
    subject_id: uuid.UUID
    version: int
    records: list[ConsentRecord]


@dataclass(frozen=True)
class History:
    subject_id: uuid.UUID
    entries: list[HistoryEntry]
    first_broken_version: int | None


@dataclass(frozen=True)
class PropagationEntry:
    entry: HistoryEntry
    applied: dict[str, datetime]
    pending: list[str]


def reported_status(record: ConsentRecord, now: datetime) -> ConsentStatus:
    """A grant past its `expires_at` reads as expired before the sweep records it: the
    service's answer fails closed, as the SDK's `is_allowed` does."""
    status = ConsentStatus(record.status)
    lapsed = record.expires_at is not None and record.expires_at <= now
    return ConsentStatus.EXPIRED if status is ConsentStatus.GRANTED and lapsed else status


async def current(session: AsyncSession, subject_id: uuid.UUID) -> Current:
    subject = await repository.subject_by_id(session, subject_id)
    if subject is None:
        raise SubjectNotFound(f"No consents recorded for subject {subject_id}.")
    records = list(await repository.records_of(session, subject_id))
    return Current(subject_id, subject.version, records)


async def history(session: AsyncSession, subject_id: uuid.UUID) -> History:
    entries = list(await repository.history_of(session, subject_id))
    if not entries and await repository.subject_by_id(session, subject_id) is None:
        raise SubjectNotFound(f"No consents recorded for subject {subject_id}.")
    links = [Link(e.version, chain_fields(e), e.previous_hash, e.entry_hash) for e in entries]
    return History(subject_id, entries, first_broken(links))


async def latest_per_purpose(session: AsyncSession, subject_id: uuid.UUID) -> list[HistoryEntry]:
    """Each purpose's newest entry, without the rest of the history or its chain check."""
    entries = await repository.latest_history_per_purpose(session, subject_id)
    if not entries and await repository.subject_by_id(session, subject_id) is None:
        raise SubjectNotFound(f"No consents recorded for subject {subject_id}.")
    return entries


# Versions are PostgreSQL `integer`s: a number outside that range names no change (and would
# make the driver refuse the query: a 500).
_VERSIONS = range(1, 2**31)


async def receipt(session: AsyncSession, subject_id: uuid.UUID, version: int) -> HistoryEntry:
    entry = None
    if version in _VERSIONS:
        entry = await repository.history_entry(session, subject_id, version)
    if entry is None:
        raise ReceiptNotFound(f"Subject {subject_id} has no change with version {version}.")
    return entry


class Acknowledgement(Protocol):
    subscriber: str
    version: int
    applied_at: datetime


def first_applications(
    versions: Iterable[int], acks: Iterable[Acknowledgement]
) -> dict[int, dict[str, datetime]]:
    """For each version: each subscriber's first application of that version or a later one
    (applying version n applies every change before it). From the newest version down in one
    pass over the acknowledgements sorted by version: checking each change against every
    acknowledgement was quadratic in a subject's history, and the live proof polls it."""
    ordered = sorted(acks, key=lambda ack: -ack.version)
    result: dict[int, dict[str, datetime]] = {}
    first_at: dict[str, datetime] = {}
    taken = 0
    for version in sorted(set(versions), reverse=True):
        while taken < len(ordered) and ordered[taken].version >= version:
            ack = ordered[taken]
            known = first_at.get(ack.subscriber)
            if known is None or ack.applied_at < known:
                first_at[ack.subscriber] = ack.applied_at
            taken += 1
        result[version] = dict(first_at)
    return result


async def propagation(
    session: AsyncSession,
    subject_id: uuid.UUID,
    *,
    version: int | None = None,
    last: int | None = None,
) -> tuple[list[str], list[PropagationEntry]]:
    """For each change: who applied it (a subscriber that applied version >= the change's),
    when it first did, and which known subscribers have not yet. `version`: that change
    only; `last`: the newest `last` changes only. Either reads only those entries and the
    acknowledgements from the oldest of them on (the live proof polls one change)."""
    if version is None and last is None:
        entries = list(await repository.history_of(session, subject_id))
    else:
        entries = await repository.history_page(session, subject_id, version=version, last=last)
    if not entries and await repository.subject_by_id(session, subject_id) is None:
        raise SubjectNotFound(f"No consents recorded for subject {subject_id}.")
    subscribers = list(await repository.subscribers(session))
    oldest = entries[0].version if entries else 0
    acks = await repository.acks_of(session, subject_id, from_version=oldest) if entries else []
    applied_from = first_applications([e.version for e in entries], acks)
    result = []
    for entry in entries:
        applied = applied_from[entry.version]
        pending = [
            s.name
            for s in subscribers
            if s.name not in applied and s.first_seen_at <= entry.occurred_at
        ]
        result.append(PropagationEntry(entry, applied, pending))
    return [s.name for s in subscribers], result


async def record_applied(
    session: AsyncSession,
    *,
    subscriber: str,
    subject_id: uuid.UUID,
    version: int,
    event_id: uuid.UUID,
    applied_at: datetime,
) -> None:
    await repository.record_ack(
        session,
        subscriber=subscriber,
        subject_id=subject_id,
        version=version,
        event_id=event_id,
        applied_at=applied_at,
    )
