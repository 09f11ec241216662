from __future__ import annotations

import uuid

from fastapi import APIRouter

from ciam_profile import service
from ciam_profile.schemas import ProfileOut
from ciam_shared.service import SessionDep

router = APIRouter(prefix="/v1", tags=["profiles"])


# Foundation only: access control on profile reads arrives with the auth issue's tokens (#4, #6).
@router.get("/profiles/{subject_id}")
async def read_profile(subject_id: uuid.UUID, session: SessionDep) -> ProfileOut:
    profile = await service.get_profile(session, subject_id)
    return ProfileOut.model_validate(profile, from_attributes=True)
