"""The identity graph over HTTP: anonymous visitors, identifiers (stitching), merges."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from ciam_profile.api.deps import GpcDep, PartsDep
from ciam_profile.auth import (
    TRACK,
    WRITE,
    Forbidden,
    Kind,
    PrincipalDep,
    authorize_own_or,
    require_admin,
    require_app,
)
from ciam_profile.models import Merge
from ciam_profile.schemas import (
    ANONYMOUS_KINDS,
    AnonymousIn,
    AnonymousOut,
    IdentifierIn,
    IdentifierLinkOut,
    MergeIn,
    MergeOut,
)
from ciam_profile.service import identity, profiles
from ciam_shared.http.openapi import BEARER, problem_responses
from ciam_shared.service import SessionDep
from ciam_shared.tokens.scopes import MY_PROFILE_WRITE

router = APIRouter(prefix="/v1", tags=["identity graph"], responses=problem_responses(*BEARER))


@router.post(
    "/anonymous",
    responses={
        201: {"model": AnonymousOut, "description": "A visitor seen for the first time"},
        **problem_responses(400, 404, 409),
    },
)
async def resolve_anonymous(
    body: AnonymousIn,
    session: SessionDep,
    principal: PrincipalDep,
    parts: PartsDep,
    gpc: GpcDep,
    response: Response,
) -> AnonymousOut:
    """The subject id of an anonymous visitor (created on first sight): an app records the
    visitor's banner choices at the consent service under it, and tracks by device id."""
    require_app(principal, TRACK)
    subject_id, created = await profiles.create_anonymous(
        session, body.identifiers, gpc=body.gpc or gpc, topic_prefix=parts.topic_prefix
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return AnonymousOut(subject_id=subject_id, created=created)


@router.post("/profiles/{subject_id}/identifiers", responses=problem_responses(400, 404, 409))
async def link_identifier(
    subject_id: uuid.UUID,
    body: IdentifierIn,
    session: SessionDep,
    principal: PrincipalDep,
    parts: PartsDep,
) -> IdentifierLinkOut:
    """Sign-in on a device: the device (or cookie, email, ...) now resolves to the subject,
    and an anonymous profile behind it is stitched in. Device and cookie ids are linked by
    the app that saw the sign-in on that device, never on a customer's word: claiming
    someone else's device id would pull in their browsing history."""
    authorize_own_or(principal, subject_id, WRITE, customer_scope=MY_PROFILE_WRITE)
    if principal.kind is Kind.CUSTOMER and body.kind in ANONYMOUS_KINDS:
        raise Forbidden("Device and cookie ids are linked by the app that saw the sign-in.")
    merge_id = await identity.link_identifier(
        session, parts.cache, subject_id, body, by=principal.id, topic_prefix=parts.topic_prefix
    )
    return IdentifierLinkOut(subject_id=subject_id, kind=body.kind, merge_id=merge_id)


@router.post(
    "/merges", status_code=status.HTTP_201_CREATED, responses=problem_responses(400, 404, 409)
)
async def merge(
    body: MergeIn, session: SessionDep, principal: PrincipalDep, parts: PartsDep
) -> MergeOut:
    require_admin(principal)
    done = await identity.merge_profiles(
        session,
        parts.cache,
        survivor_id=body.survivor_id,
        absorbed_id=body.absorbed_id,
        reason=identity.MANUAL,
        by=principal.id,
        topic_prefix=parts.topic_prefix,
    )
    return _out(done)


@router.post("/merges/{merge_id}/undo", responses=problem_responses(400, 404, 409))
async def undo_merge(
    merge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, parts: PartsDep
) -> MergeOut:
    require_admin(principal)
    undone = await identity.undo_merge(
        session, parts.cache, merge_id, by=principal.id, topic_prefix=parts.topic_prefix
    )
    return _out(undone)


def _out(merge: Merge) -> MergeOut:
    return MergeOut.model_validate(merge, from_attributes=True)
