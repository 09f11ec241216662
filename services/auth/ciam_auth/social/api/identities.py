"""The customer's linked identities (`/v1/me/identities`), and the import values the profile
service reads (`/v1/internal/social-imports/{subject_id}`).

The /v1/me routes authenticate with the browser session; a change also needs the
`X-CSRF-Token` header the list returns (a cross-site form cannot set a header)."""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status

from ciam_auth.oidc.api.contacts import contacts_reader
from ciam_auth.oidc.errors import AccountNotFound
from ciam_auth.parts import current_session, provider_of
from ciam_auth.sessions.store import Session
from ciam_auth.social import service
from ciam_auth.social.errors import CsrfRefused, NotSignedIn
from ciam_auth.social.schemas import IdentitiesOut, IdentityOut, ImportOut
from ciam_auth.transactions import SessionDep
from ciam_shared.http.openapi import problem_responses
from ciam_shared.service import RuntimeDep

router = APIRouter(tags=["social"])
CSRF_PURPOSE = "identities"


async def signed_in(request: Request) -> Session:
    session = await current_session(request)
    if session is None:
        raise NotSignedIn("This needs a signed-in customer.")
    return session


SignedIn = Annotated[Session, Depends(signed_in)]


@router.get("/v1/me/identities", responses=problem_responses(401))
async def my_identities(request: Request, session: SignedIn, db: SessionDep) -> IdentitiesOut:
    account = await service.account_of(db, session.account_id)
    identities = await service.list_identities(db, session.account_id)
    return IdentitiesOut(
        identities=[
            IdentityOut(
                id=i.id,
                provider=i.provider,
                linked_at=i.created_at,
                last_used_at=i.last_used_at,
                imported_fields=i.import_fields,
            )
            for i in identities
        ],
        has_password=account is not None and account.password_hash is not None,
        csrf_token=provider_of(request).csrf_token(session.id, CSRF_PURPOSE),
    )


@router.delete(
    "/v1/me/identities/{identity_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 401, 403, 404),
)
async def unlink(
    identity_id: uuid.UUID,
    request: Request,
    session: SignedIn,
    db: SessionDep,
    runtime: RuntimeDep,
    x_csrf_token: Annotated[str, Header()] = "",
) -> Response:
    expected = provider_of(request).csrf_token(session.id, CSRF_PURPOSE)
    if not hmac.compare_digest(x_csrf_token, expected):
        raise CsrfRefused("Send the csrf_token of GET /v1/me/identities as X-CSRF-Token.")
    await service.unlink(db, session.account_id, identity_id, topic_prefix=runtime.topic_prefix)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/internal/social-imports/{subject_id}",
    tags=["internal"],
    responses=problem_responses(401, 403, 404),
)
async def social_import(
    subject_id: uuid.UUID, db: SessionDep, _: Annotated[str, Depends(contacts_reader)]
) -> ImportOut:
    """What the profile may import for this subject, read when an IdentityLinked event
    arrives; after a withdrawal the withdrawn fields are gone from here too."""
    if await service.account_of(db, subject_id) is None:
        raise AccountNotFound("No account with this subject id (it may have been deleted).")
    merged: dict[str, Any] = {}
    for identity in await service.list_identities(db, subject_id):
        for name, value in identity.imported.items():
            merged.setdefault(name, value)
    return ImportOut(subject_id=subject_id, fields=merged)
