from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile.models import Profile


async def profile_of(session: AsyncSession, subject_id: uuid.UUID) -> Profile | None:
    return await session.get(Profile, subject_id)


async def add_profile(session: AsyncSession, profile: Profile) -> None:
    session.add(profile)
    await session.flush()
