from __future__ import annotations

import uuid

from fastapi import APIRouter

from ciam_consent import service
from ciam_consent.schemas import SubjectOut
from ciam_shared.service import SessionDep

router = APIRouter(prefix="/v1", tags=["subjects"])


# Foundation only: the consent API and its authorisation come with the consent issue (#3).
@router.get("/subjects/{subject_id}")
async def read_subject(subject_id: uuid.UUID, session: SessionDep) -> SubjectOut:
    subject = await service.get_subject(session, subject_id)
    return SubjectOut.model_validate(subject, from_attributes=True)
