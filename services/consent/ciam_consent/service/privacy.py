"""The consent service's answers to the privacy centre: its part of a data export (current
consents, and the whole history with each change's signed receipt), and the confirmation
that a deleted subject's consents are erased. Both staged in the outbox, in the transaction
of the record that asked."""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent import repository
from ciam_consent.integrity import receipt_payload
from ciam_consent.models import ConsentRecord, HistoryEntry
from ciam_consent.service.queries import reported_status
from ciam_consent.service.recording import SOURCE, Recorder
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, DataExportRequested, ErasureConfirmed
from ciam_shared.outbox import stage
from ciam_shared.privacy import pack_part

SERVICE: Final = "consent"
# `brand`/`channel` '' in the tables: the consent covers every brand or channel.


def _record(record: ConsentRecord) -> dict[str, Any]:
    now = utcnow()
    return {
        "purpose": record.purpose_id,
        "brand": record.brand or None,
        "channel": record.channel or None,
        "status": reported_status(record, now).value,
        "purpose_version": record.purpose_version,
        "collected_via": record.collected_via,
        "version": record.version,
        "updated_at": record.updated_at,
        "expires_at": record.expires_at,
    }


def _entry(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "version": entry.version,
        "event_id": entry.event_id,
        "purpose": entry.purpose_id,
        "purpose_version": entry.purpose_version,
        "notice_hash": entry.notice_hash,
        "brand": entry.brand or None,
        "channel": entry.channel or None,
        "status": entry.status,
        "collected_via": entry.collected_via,
        "source": entry.source,
        "occurred_at": entry.occurred_at,
        "expires_at": entry.expires_at,
        "previous_hash": entry.previous_hash,
        "entry_hash": entry.entry_hash,
        # The signed receipt (compact JWS, verifiable with the service's receipt keys) and
        # its claims, readable without a JOSE library.
        "receipt": {"jws": entry.receipt, "claims": receipt_payload(entry.receipt)},
    }


async def export_subject(session: AsyncSession, subject_id: uuid.UUID) -> dict[str, Any]:
    subject = await repository.subject_by_id(session, subject_id)
    records = list(await repository.records_of(session, subject_id)) if subject else []
    entries = list(await repository.history_of(session, subject_id))
    return {
        "service": SERVICE,
        "subject_id": str(subject_id),
        "exported_at": utcnow(),
        "version": subject.version if subject else 0,
        "consents": [_record(r) for r in records],
        "history": [_entry(e) for e in entries],
    }


async def answer_export(
    session: AsyncSession, recorder: Recorder, request: DataExportRequested
) -> None:
    part = pack_part(request, SERVICE, await export_subject(session, request.subject_id))
    await stage(session, CloudEvent.wrap(part, source=SOURCE), topic_prefix=recorder.topic_prefix)


async def confirm_erasure(session: AsyncSession, recorder: Recorder, subject_id: uuid.UUID) -> None:
    confirmed = ErasureConfirmed(subject_id=subject_id, service=SERVICE, erased_at=utcnow())
    await stage(
        session, CloudEvent.wrap(confirmed, source=SOURCE), topic_prefix=recorder.topic_prefix
    )
