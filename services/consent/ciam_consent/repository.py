from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent.models import Subject


async def subject_by_id(session: AsyncSession, subject_id: uuid.UUID) -> Subject | None:
    return await session.get(Subject, subject_id)


async def add_subject(session: AsyncSession, subject: Subject) -> None:
    session.add(subject)
    await session.flush()
