"""Brand apps' declared purposes (interim registration, see service/apps.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ciam_profile.api.deps import PartsDep
from ciam_profile.auth import PrincipalDep, require_admin
from ciam_profile.schemas import AppIn, AppOut
from ciam_profile.service import apps
from ciam_shared.service import SessionDep

router = APIRouter(prefix="/v1/apps", tags=["apps"])
ClientId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]


@router.put("/{client_id}")
async def register_app(
    client_id: ClientId, body: AppIn, session: SessionDep, principal: PrincipalDep, parts: PartsDep
) -> AppOut:
    require_admin(principal)
    purposes = await apps.register_app(
        session, parts.apps, parts.gate.catalogue, client_id, body.purposes
    )
    return AppOut(client_id=client_id, purposes=purposes)


@router.get("/{client_id}")
async def get_app(client_id: ClientId, session: SessionDep, principal: PrincipalDep) -> AppOut:
    require_admin(principal)
    return AppOut(client_id=client_id, purposes=await apps.app_purposes(session, client_id))
