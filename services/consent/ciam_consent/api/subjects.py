"""A subject's consents over HTTP: read, change (batch or one), history, receipts, proof."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from ciam_consent.api.deps import RecorderDep
from ciam_consent.auth import READ, WRITE, PrincipalDep, authorize_brand, authorize_subject
from ciam_consent.http_context import gpc_signal, request_context
from ciam_consent.integrity import receipt_payload
from ciam_consent.models import HistoryEntry
from ciam_consent.schemas import (
    ChangeOut,
    ChangesIn,
    ChangesOut,
    ConsentOut,
    HistoryEntryOut,
    HistoryOut,
    PropagationEntryOut,
    PropagationOut,
    ReceiptOut,
    SingleChangeIn,
    Slug,
    SubjectConsentsOut,
)
from ciam_consent.service import changes, queries
from ciam_consent.service.changes import Requested
from ciam_shared.events import CollectionMethod, ConsentStatus
from ciam_shared.service import SessionDep

router = APIRouter(prefix="/v1/subjects", tags=["consents"])

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


@router.get("/{subject_id}/consents")
async def current_consents(
    subject_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
) -> SubjectConsentsOut:
    authorize_subject(principal, subject_id, scope=READ)
    if gpc_signal(request):
        context = request_context(request, principal, CollectionMethod.GPC, None)
        await changes.honour_gpc(session, recorder, subject_id, context)
    found = await queries.current(session, subject_id)
    return SubjectConsentsOut(
        subject_id=subject_id,
        version=found.version,
        consents=[
            ConsentOut(
                purpose=r.purpose_id,
                brand=r.brand or None,
                channel=r.channel or None,
                status=ConsentStatus(r.status),
                purpose_version=r.purpose_version,
                collected_via=CollectionMethod(r.collected_via),
                version=r.version,
                updated_at=r.updated_at,
                expires_at=r.expires_at,
            )
            for r in found.records
        ],
    )


@router.post("/{subject_id}/consents", status_code=status.HTTP_200_OK)
async def change_consents(
    subject_id: uuid.UUID,
    body: ChangesIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
) -> ChangesOut:
    """Grant, deny or withdraw one or many consents at once: all of them or none."""
    authorize_subject(principal, subject_id, scope=WRITE)
    items = []
    for change in body.changes:
        brand = change.brand or principal.brand
        authorize_brand(principal, brand)
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
) -> ChangesOut:
    authorize_subject(principal, subject_id, scope=WRITE)
    brand = body.brand or principal.brand
    authorize_brand(principal, brand)
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


@router.post("/{subject_id}/consents/{purpose}/grant")
async def grant(
    subject_id: uuid.UUID,
    purpose: Slug,
    body: SingleChangeIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
) -> ChangesOut:
    return await _single(
        subject_id, purpose, ConsentStatus.GRANTED, body, request, session, principal, recorder
    )


@router.post("/{subject_id}/consents/{purpose}/withdraw")
async def withdraw(
    subject_id: uuid.UUID,
    purpose: Slug,
    body: SingleChangeIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
) -> ChangesOut:
    return await _single(
        subject_id, purpose, ConsentStatus.WITHDRAWN, body, request, session, principal, recorder
    )


def _history_out(e: HistoryEntry) -> HistoryEntryOut:
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
        occurred_at=e.occurred_at,
        expires_at=e.expires_at,
        previous_hash=e.previous_hash,
        entry_hash=e.entry_hash,
    )


@router.get("/{subject_id}/history")
async def history(
    subject_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> HistoryOut:
    authorize_subject(principal, subject_id, scope=READ)
    found = await queries.history(session, subject_id)
    return HistoryOut(
        subject_id=subject_id,
        chain_valid=found.first_broken_version is None,
        first_broken_version=found.first_broken_version,
        entries=[_history_out(e) for e in found.entries],
    )


@router.get("/{subject_id}/receipts/{version}")
async def receipt(
    subject_id: uuid.UUID, version: int, session: SessionDep, principal: PrincipalDep
) -> ReceiptOut:
    authorize_subject(principal, subject_id, scope=READ)
    entry = await queries.receipt(session, subject_id, version)
    return ReceiptOut(
        receipt=receipt_payload(entry.receipt),
        jws=entry.receipt,
        jwks_url=JWKS_PATH,
    )


@router.get("/{subject_id}/propagation")
async def propagation(
    subject_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> PropagationOut:
    authorize_subject(principal, subject_id, scope=READ)
    subscribers, entries = await queries.propagation(session, subject_id)
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
        ],
    )
