"""Profiles over HTTP: read (consent-aware for apps), edit, export.

A customer's token reaches its own profile only, each action with its customer scope; the
whole profile shows to a customer's token (also one held by a third-party app: the customer
granted it `me:profile:read` on auth's consent screen, which names the profile)."""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from fastapi import APIRouter, Response
from pydantic import BaseModel

from ciam_profile.api.deps import PartsDep, reader_of
from ciam_profile.auth import (
    ADMIN,
    READ,
    WRITE,
    Kind,
    PrincipalDep,
    authorize_own_or,
    writable_kinds,
)
from ciam_profile.errors import FieldNotWritable
from ciam_profile.schemas import ProfileOut, ProfilePatch
from ciam_profile.service import erasure, profiles
from ciam_profile.service.reading import read_in, read_profile
from ciam_shared.http.openapi import BEARER, problem_responses
from ciam_shared.service import RuntimeDep, SessionDep
from ciam_shared.tokens.scopes import MY_PROFILE_EXPORT, MY_PROFILE_READ, MY_PROFILE_WRITE

router = APIRouter(prefix="/v1/profiles", tags=["profiles"], responses=problem_responses(*BEARER))


@router.get("/{subject_id}", response_model=ProfileOut, responses=problem_responses(404))
async def get_profile(
    subject_id: uuid.UUID, runtime: RuntimeDep, principal: PrincipalDep, parts: PartsDep
) -> Response:
    """No SessionDep: a cached read needs no transaction; a miss opens its own. The cached
    document is JSON already, in ProfileOut's shape: it is sent as it is, not validated
    again (the hot path of every app)."""
    authorize_own_or(principal, subject_id, READ, customer_scope=MY_PROFILE_READ)
    doc, kinds = await read_profile(runtime.sessions, reader_of(parts), principal, subject_id)
    return Response(json.dumps(_body(doc, kinds)), media_type="application/json")


@router.patch("/{subject_id}", responses=problem_responses(400, 404, 409))
async def patch_profile(
    subject_id: uuid.UUID,
    body: ProfilePatch,
    session: SessionDep,
    principal: PrincipalDep,
    parts: PartsDep,
) -> ProfileOut:
    if principal.kind is Kind.APP and not writable_kinds(principal):
        raise FieldNotWritable(f"This needs the `{WRITE}` scope.")
    authorize_own_or(
        principal, subject_id, _any_write_scope(principal.scopes), customer_scope=MY_PROFILE_WRITE
    )
    fields = cast(BaseModel, body.fields)
    values: dict[str, Any] = fields.model_dump(mode="json", exclude_unset=True)
    await profiles.update_fields(
        session, parts.cache, principal, subject_id, values, topic_prefix=parts.topic_prefix
    )
    doc, kinds = await read_in(session, reader_of(parts), principal, subject_id)
    return _out(doc, kinds)


@router.get("/{subject_id}/export", responses=problem_responses(404))
async def export_profile(
    subject_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """The whole profile, identity graph and tracked events: the customer's own (with
    `me:profile:export`), or an admin's."""
    authorize_own_or(principal, subject_id, ADMIN, customer_scope=MY_PROFILE_EXPORT)
    return await erasure.export_subject(session, subject_id)


def _any_write_scope(scopes: frozenset[str]) -> str:
    return next((s for s in sorted(scopes) if s.startswith(WRITE)), WRITE)


def _body(doc: dict[str, Any], kinds: list[str]) -> dict[str, Any]:
    return {
        "subject_id": doc["subject_id"],
        "known": doc["known"],
        "merged_subject_ids": doc["members"][1:],
        "registered_at": doc["registered_at"],
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "fields": doc["fields"],
        "allowed_kinds": kinds,
    }


def _out(doc: dict[str, Any], kinds: list[str]) -> ProfileOut:
    return ProfileOut.model_validate(_body(doc, kinds))
