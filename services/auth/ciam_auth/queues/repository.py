"""The queries of the durable queues (outgoing mail, account jobs): claim what is due, skipping
rows another sender or worker holds (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import AccountJob, OutgoingMail


async def claim_mail(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> list[OutgoingMail]:
    """Due mails, leased to the caller: their `next_attempt_at` moves to `lease_until` (and
    the attempt is counted) when the caller's transaction commits."""
    rows = list(
        (
            await session.scalars(
                select(OutgoingMail)
                .where(OutgoingMail.next_attempt_at <= now)
                .order_by(OutgoingMail.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = lease_until
    return rows


async def delete_mail(session: AsyncSession, mail_id: uuid.UUID) -> None:
    await session.execute(delete(OutgoingMail).where(OutgoingMail.id == mail_id))


async def retry_mail_at(session: AsyncSession, mail_id: uuid.UUID, when: datetime) -> None:
    row = await session.get(OutgoingMail, mail_id, with_for_update=True)
    if row is not None:
        row.next_attempt_at = when


async def mail_waiting(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(OutgoingMail)) or 0)


async def claim_job(session: AsyncSession, now: datetime) -> AccountJob | None:
    """One due job, locked until the caller's transaction ends (the work runs inside it)."""
    found: AccountJob | None = await session.scalar(
        select(AccountJob)
        .where(AccountJob.next_attempt_at <= now)
        .order_by(AccountJob.next_attempt_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return found


async def jobs_waiting(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AccountJob)) or 0)
