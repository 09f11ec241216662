"""The queries of export and deletion requests (no query here reaches social sign-in: the
account deletion use case imports this module)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.datarights.models import (
    COLLECTING,
    EXPIRED,
    DataExport,
    DataExportPart,
    DeletionRequest,
    DeletionStep,
)
from ciam_auth.models import Account


async def add(session: AsyncSession, *rows: object) -> None:
    session.add_all(rows)
    await session.flush()


# Exports


async def export_by_id(
    session: AsyncSession, export_id: uuid.UUID, *, for_update: bool = False
) -> DataExport | None:
    query = select(DataExport).where(DataExport.id == export_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def open_export_of(
    session: AsyncSession, subject_id: uuid.UUID, now: datetime
) -> DataExport | None:
    """An export of the subject still collecting within its deadline: a second click joins it."""
    query = (
        select(DataExport)
        .where(
            DataExport.subject_id == subject_id,
            DataExport.status == COLLECTING,
            DataExport.deadline_at > now,
        )
        .order_by(DataExport.requested_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).one_or_none()


async def exports_of(session: AsyncSession, subject_id: uuid.UUID) -> Sequence[DataExport]:
    query = (
        select(DataExport)
        .where(DataExport.subject_id == subject_id)
        .order_by(DataExport.requested_at.desc())
        .limit(10)
    )
    return (await session.scalars(query)).all()


async def parts_of(session: AsyncSession, export_id: uuid.UUID) -> Sequence[DataExportPart]:
    query = select(DataExportPart).where(DataExportPart.export_id == export_id)
    return (await session.scalars(query)).all()


async def add_part_once(session: AsyncSession, values: dict[str, object]) -> bool:
    """A service's part, kept once (a redelivered or repeated answer changes nothing)."""
    inserted = await session.execute(
        postgresql.insert(DataExportPart)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["export_id", "service"])
        .returning(DataExportPart.service)
    )
    return inserted.first() is not None


async def drop_documents(session: AsyncSession, export_id: uuid.UUID) -> None:
    """The parts' documents once they are in the archive (or the export failed)."""
    await session.execute(
        update(DataExportPart).where(DataExportPart.export_id == export_id).values(document=None)
    )


async def claim_expired(session: AsyncSession, now: datetime, limit: int) -> Sequence[DataExport]:
    """Archives past their time, each claimed by one sweeper (SKIP LOCKED): replicas share
    the work and never remove one twice."""
    query = (
        select(DataExport)
        .where(DataExport.expires_at <= now, DataExport.status != EXPIRED)
        .order_by(DataExport.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def claim_overdue(session: AsyncSession, now: datetime, limit: int) -> Sequence[DataExport]:
    """Exports still collecting past their deadline (SKIP LOCKED, as above)."""
    query = (
        select(DataExport)
        .where(DataExport.status == COLLECTING, DataExport.deadline_at <= now)
        .order_by(DataExport.deadline_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def account(session: AsyncSession, subject_id: uuid.UUID) -> Account | None:
    return await session.get(Account, subject_id)


# Deletions


async def deletion_by_token_hash(session: AsyncSession, token_hash: str) -> DeletionRequest | None:
    query = select(DeletionRequest).where(DeletionRequest.token_hash == token_hash)
    return (await session.scalars(query)).one_or_none()


async def deletion_of_subject(
    session: AsyncSession, subject_id: uuid.UUID, *, for_update: bool = False
) -> DeletionRequest | None:
    query = select(DeletionRequest).where(DeletionRequest.subject_id == subject_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def steps_of(
    session: AsyncSession, request_ids: Sequence[uuid.UUID]
) -> Sequence[DeletionStep]:
    query = select(DeletionStep).where(DeletionStep.request_id.in_(request_ids))
    return (await session.scalars(query)).all()


async def confirm_step(
    session: AsyncSession, request_id: uuid.UUID, service: str, at: datetime
) -> bool:
    """The first confirmation of a step counts; a repeated one changes nothing."""
    result = await session.execute(
        update(DeletionStep)
        .where(
            DeletionStep.request_id == request_id,
            DeletionStep.service == service,
            DeletionStep.confirmed_at.is_(None),
        )
        .values(confirmed_at=at)
        .returning(DeletionStep.service)
    )
    return result.first() is not None


async def open_deletions(session: AsyncSession, limit: int) -> Sequence[DeletionRequest]:
    query = (
        select(DeletionRequest)
        .where(DeletionRequest.completed_at.is_(None))
        .order_by(DeletionRequest.deadline_at)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def forget_deletion(session: AsyncSession, request_id: uuid.UUID) -> None:
    await session.execute(delete(DeletionRequest).where(DeletionRequest.id == request_id))
