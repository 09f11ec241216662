from __future__ import annotations

from fastapi import APIRouter, status

from ciam_auth import service
from ciam_auth.schemas import AccountOut, RegistrationIn
from ciam_shared.service import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.post("/accounts", status_code=status.HTTP_201_CREATED)
async def register(body: RegistrationIn, session: SessionDep, runtime: RuntimeDep) -> AccountOut:
    account = await service.register_account(
        session, email=body.email, password=body.password, topic_prefix=runtime.topic_prefix
    )
    return AccountOut(subject_id=account.id)
