"""Operator API: open deletion requests with their deadline (GDPR one month, CCPA 45 days:
`AUTH_ERASURE_DEADLINE_DAYS`). Needs an operator client's `auth:admin` token, like the rest
of the admin API (oidc/api/admin.py, docs/security.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ciam_auth.datarights.service import deletions
from ciam_auth.oidc.api.admin import Admin
from ciam_auth.transactions import SessionDep
from ciam_shared.db import utcnow
from ciam_shared.http.openapi import problem_responses

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problem_responses(401, 403))


class ErasureStepOut(BaseModel):
    service: str
    confirmed_at: datetime | None


class ErasureOut(BaseModel):
    id: uuid.UUID
    subject_id: uuid.UUID
    requested_at: datetime
    deadline_at: datetime
    overdue: bool
    pending: list[str]
    steps: list[ErasureStepOut]


@router.get("/erasures", responses=problem_responses(422))
async def open_erasures(
    db: SessionDep, _: Admin, limit: int = Query(default=100, ge=1, le=500)
) -> list[ErasureOut]:
    """Deletion requests some service has not confirmed yet, the nearest deadline first."""
    now = utcnow()
    return [
        ErasureOut(
            id=d.id,
            subject_id=d.subject_id,
            requested_at=d.requested_at,
            deadline_at=d.deadline_at,
            overdue=d.deadline_at <= now,
            pending=d.pending,
            steps=[ErasureStepOut(service=s.service, confirmed_at=s.confirmed_at) for s in d.steps],
        )
        for d in await deletions.open_requests(db, limit)
    ]
