"""A subject's consents over HTTP: read, change (batch or one), history, receipts, proof.

A brand app records only the purposes it declared at the auth service (403
`purpose-not-declared`, nothing written) and, by data minimisation, reads only those too: its
current consents, history and propagation list only its declared purposes, and a receipt of
another purpose does not exist for it (404). The same holds for a third-party app acting for a
customer (a customer token it obtained): the customer granted the app a scope, not the sight of
every purpose. Admins and the customer on auth's own pages see everything.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from ciam_consent.api.deps import RecorderDep
from ciam_consent.auth import (
    READ,
    WRITE,
    AppsDep,
    PrincipalDep,
    authorize_subject,
    change_brand,
)
from ciam_consent.errors import ReceiptNotFound
from ciam_consent.http_context import gpc_signal, request_context
from ciam_consent.integrity import receipt_payload
from ciam_consent.models import HistoryEntry
from ciam_consent.schemas import (
    VERSION_MAX,
    ChangeOut,
    ChangesIn,
    ChangesOut,
    ConsentOut,
    HistoryEntryOut,
    HistoryOut,
    LatestHistoryOut,
    PropagationEntryOut,
    PropagationOut,
    ReceiptOut,
    SingleChangeIn,
    Slug,
    SubjectConsentsOut,
)
from ciam_consent.service import changes, queries
from ciam_consent.service.changes import Requested
from ciam_shared.db import utcnow
from ciam_shared.events import CollectionMethod, ConsentStatus
from ciam_shared.http.openapi import BEARER, problem_responses
from ciam_shared.service import SessionDep
from ciam_shared.tokens import Principal
from ciam_shared.tokens.apps import AppDirectory, declared_purposes, require_declared

router = APIRouter(prefix="/v1/subjects", tags=["consents"], responses=problem_responses(*BEARER))

JWKS_PATH = "/v1/receipts/jwks.json"


def _receipt_url(subject_id: uuid.UUID, version: int) -> str:
    return f"/v1/subjects/{subject_id}/receipts/{version}"


def _changes_out(applied: changes.Applied) -> ChangesOut:
    return ChangesOut(
        subject_id=applied.subject_id,
        version=applied.version,
        changes=[
            ChangeOut(
                version=e.version,
                event_id=e.event_id,
                purpose=e.purpose_id,
                brand=e.brand or None,
                channel=e.channel or None,
                status=ConsentStatus(e.status),
                receipt_url=_receipt_url(e.subject_id, e.version),
            )
            for e in applied.entries
        ],
    )


def _visible(apps: AppDirectory, principal: Principal, purpose: str) -> bool:
    """A brand app, also acting for a customer, sees its declared purposes only (data
    minimisation); admins and auth's own pages see all."""
    declared = declared_purposes(apps, principal)
    return declared is None or purpose in declared


def _app_name(apps: AppDirectory, client_id: object) -> str | None:
    """The display name of the app a change came from, while the auth service knows it."""
    if not isinstance(client_id, str):
        return None
    app = apps.get(client_id)
    return app.name if app is not None else None


@router.get("/{subject_id}/consents", responses=problem_responses(404, 409, 410))
async def current_consents(
    subject_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
    apps: AppsDep,
) -> SubjectConsentsOut:
    authorize_subject(principal, subject_id, scope=READ)
    if gpc_signal(request):
        context = request_context(request, principal, CollectionMethod.GPC, None)
        await changes.honour_gpc(session, recorder, subject_id, context)
    found = await queries.current(session, subject_id)
    now = utcnow()
    return SubjectConsentsOut(
        subject_id=subject_id,
        version=found.version,
        consents=[
            ConsentOut(
                purpose=r.purpose_id,
                brand=r.brand or None,
                channel=r.channel or None,
                status=queries.reported_status(r, now),
                purpose_version=r.purpose_version,
                collected_via=CollectionMethod(r.collected_via),
                version=r.version,
                updated_at=r.updated_at,
                expires_at=r.expires_at,
            )
            for r in found.records
            if _visible(apps, principal, r.purpose_id)
        ],
    )


@router.post(
    "/{subject_id}/consents",
    status_code=status.HTTP_200_OK,
    responses=problem_responses(400, 404, 409, 410),
)
async def change_consents(
    subject_id: uuid.UUID,
    body: ChangesIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
    apps: AppsDep,
) -> ChangesOut:
    """Grant, deny or withdraw one or many consents at once: all of them or none."""
    authorize_subject(principal, subject_id, scope=WRITE)
    require_declared(apps, principal, [c.purpose for c in body.changes], batch=True)
    items = []
    for index, change in enumerate(body.changes):
        given = "brand" in change.model_fields_set
        brand = change_brand(apps, principal, change.brand, given=given, item=index)
        items.append(
            Requested(
                change.purpose,
                ConsentStatus(change.status),
                brand,
                change.channel,
                change.purpose_version,
                change.expires_at,
            )
        )
    context = request_context(request, principal, body.collected_via, body.device)
    applied = await changes.apply_changes(
        session, recorder, subject_id, items, context, gpc=gpc_signal(request)
    )
    return _changes_out(applied)


async def _single(
    subject_id: uuid.UUID,
    purpose: str,
    status_: ConsentStatus,
    body: SingleChangeIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
    apps: AppDirectory,
) -> ChangesOut:
    authorize_subject(principal, subject_id, scope=WRITE)
    require_declared(apps, principal, [purpose])
    brand = change_brand(apps, principal, body.brand, given="brand" in body.model_fields_set)
    item = Requested(
        purpose,
        status_,
        brand,
        body.channel,
        body.purpose_version,
        body.expires_at if status_ is ConsentStatus.GRANTED else None,
    )
    context = request_context(request, principal, body.collected_via, body.device)
    applied = await changes.apply_changes(
        session, recorder, subject_id, [item], context, gpc=gpc_signal(request)
    )
    return _changes_out(applied)


@router.post(
    "/{subject_id}/consents/{purpose}/grant", responses=problem_responses(400, 404, 409, 410)
)
async def grant(
    subject_id: uuid.UUID,
    purpose: Slug,
    body: SingleChangeIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
    apps: AppsDep,
) -> ChangesOut:
    return await _single(
        subject_id, purpose, ConsentStatus.GRANTED, body, request, session, principal, recorder,
        apps,
    )  # fmt: skip


@router.post(
    "/{subject_id}/consents/{purpose}/withdraw", responses=problem_responses(400, 404, 409, 410)
)
async def withdraw(
    subject_id: uuid.UUID,
    purpose: Slug,
    body: SingleChangeIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
    apps: AppsDep,
) -> ChangesOut:
    return await _single(
        subject_id, purpose, ConsentStatus.WITHDRAWN, body, request, session, principal, recorder,
        apps,
    )  # fmt: skip


def _history_out(e: HistoryEntry, apps: AppDirectory) -> HistoryEntryOut:
    return HistoryEntryOut(
        version=e.version,
        event_id=e.event_id,
        purpose=e.purpose_id,
        purpose_version=e.purpose_version,
        notice_hash=e.notice_hash,
        brand=e.brand or None,
        channel=e.channel or None,
        status=ConsentStatus(e.status),
        collected_via=CollectionMethod(e.collected_via),
        source=e.source,
        source_app_name=_app_name(apps, e.source.get("app")),
        occurred_at=e.occurred_at,
        expires_at=e.expires_at,
        previous_hash=e.previous_hash,
        entry_hash=e.entry_hash,
    )


@router.get("/{subject_id}/history", responses=problem_responses(404, 410))
async def history(
    subject_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, apps: AppsDep
) -> HistoryOut:
    """For a brand app, only its declared purposes' entries: `chain_valid` still speaks for
    the whole chain, which the app cannot recompute from the entries it is shown."""
    authorize_subject(principal, subject_id, scope=READ)
    found = await queries.history(session, subject_id)
    return HistoryOut(
        subject_id=subject_id,
        chain_valid=found.first_broken_version is None,
        first_broken_version=found.first_broken_version,
        entries=[
            _history_out(e, apps) for e in found.entries if _visible(apps, principal, e.purpose_id)
        ],
    )


@router.get("/{subject_id}/history/latest", responses=problem_responses(404, 410))
async def latest_history(
    subject_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, apps: AppsDep
) -> LatestHistoryOut:
    """Each purpose's newest entry (who changed it last, and where): what the privacy page
    shows, read without the whole history, whose length grows with every change."""
    authorize_subject(principal, subject_id, scope=READ)
    entries = await queries.latest_per_purpose(session, subject_id)
    return LatestHistoryOut(
        subject_id=subject_id,
        entries=[_history_out(e, apps) for e in entries if _visible(apps, principal, e.purpose_id)],
    )


@router.get("/{subject_id}/receipts/{version}", responses=problem_responses(404, 410))
async def receipt(
    subject_id: uuid.UUID,
    version: Annotated[int, Path(ge=1, le=VERSION_MAX)],
    session: SessionDep,
    principal: PrincipalDep,
    apps: AppsDep,
) -> ReceiptOut:
    authorize_subject(principal, subject_id, scope=READ)
    entry = await queries.receipt(session, subject_id, version)
    if not _visible(apps, principal, entry.purpose_id):
        # The same answer as for a version that does not exist: nothing to learn from it.
        raise ReceiptNotFound(f"Subject {subject_id} has no change with version {version}.")
    return ReceiptOut(
        receipt=receipt_payload(entry.receipt),
        jws=entry.receipt,
        jwks_url=JWKS_PATH,
        source_app_name=_app_name(apps, entry.source.get("app")),
    )


@router.get("/{subject_id}/propagation", responses=problem_responses(404, 410))
async def propagation(
    subject_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    apps: AppsDep,
    version: Annotated[int | None, Query(ge=1, le=VERSION_MAX)] = None,
    last: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> PropagationOut:
    """Every change, or with `version` that change only, with `last` the newest `last` only
    (the page's live proof polls one change: the whole history grows with every change)."""
    authorize_subject(principal, subject_id, scope=READ)
    subscribers, entries = await queries.propagation(
        session, subject_id, version=version, last=last
    )
    return PropagationOut(
        subject_id=subject_id,
        subscribers=subscribers,
        changes=[
            PropagationEntryOut(
                version=p.entry.version,
                event_id=p.entry.event_id,
                status=ConsentStatus(p.entry.status),
                purpose=p.entry.purpose_id,
                occurred_at=p.entry.occurred_at,
                applied=p.applied,
                pending=p.pending,
            )
            for p in entries
            if _visible(apps, principal, p.entry.purpose_id)
        ],
    )
