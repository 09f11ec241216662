"""Use cases of the consent service (foundation: learning of new subjects)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent import repository
from ciam_consent.errors import SubjectNotFound
from ciam_consent.models import Subject
from ciam_shared.db import utcnow


async def learn_subject(
    session: AsyncSession, *, subject_id: uuid.UUID, registered_at: datetime
) -> bool:
    if await repository.subject_by_id(session, subject_id) is not None:
        return False
    subject = Subject(id=subject_id, registered_at=registered_at, known_since=utcnow())
    await repository.add_subject(session, subject)
    return True


async def get_subject(session: AsyncSession, subject_id: uuid.UUID) -> Subject:
    subject = await repository.subject_by_id(session, subject_id)
    if subject is None:
        raise SubjectNotFound(f"No subject {subject_id}.")
    return subject
