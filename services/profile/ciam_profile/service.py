"""Use cases of the profile service."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile import repository
from ciam_profile.errors import ProfileNotFound
from ciam_profile.models import Profile
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, ProfileCreated
from ciam_shared.outbox import stage

SOURCE = "/ciam/profile"


async def create_profile_for_registration(
    session: AsyncSession,
    *,
    subject_id: uuid.UUID,
    registered_at: datetime,
    cause_event_id: uuid.UUID,
    topic_prefix: str,
) -> bool:
    """Create the subject's empty profile; False when it already has one."""
    if await repository.profile_of(session, subject_id) is not None:
        return False
    profile = Profile(subject_id=subject_id, registered_at=registered_at, created_at=utcnow())
    await repository.add_profile(session, profile)
    created = ProfileCreated(
        subject_id=subject_id, created_at=profile.created_at, cause_event_id=cause_event_id
    )
    await stage(session, CloudEvent.wrap(created, source=SOURCE), topic_prefix=topic_prefix)
    return True


async def get_profile(session: AsyncSession, subject_id: uuid.UUID) -> Profile:
    profile = await repository.profile_of(session, subject_id)
    if profile is None:
        raise ProfileNotFound(f"No profile for subject {subject_id}.")
    return profile
