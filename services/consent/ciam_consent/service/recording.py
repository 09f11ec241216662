"""The one way a consent changes: a new subject version, a chained history entry, a signed
receipt, the current record, and the change event staged in the same transaction. After the
changes of one request, one `ConsentState` of the subject is staged for the compacted topic."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent import repository
from ciam_consent.integrity import ReceiptSigner, entry_hash
from ciam_consent.models import ANY, ConsentRecord, HistoryEntry, Purpose, PurposeVersion, Subject
from ciam_shared.db import utcnow
from ciam_shared.events import (
    CHANGE_EVENTS,
    CloudEvent,
    CollectionMethod,
    ConsentState,
    ConsentStateItem,
    ConsentStatus,
)
from ciam_shared.outbox import stage

SOURCE = "/ciam/consent"
RECEIPT_VERSION = "KI-CR-v1.1.0"


@dataclass(frozen=True)
class Controller:
    name: str
    contact: str
    policy_url: str
    jurisdiction: str


@dataclass(frozen=True)
class Recorder:
    """What recording needs besides the session: the signer, the controller, the topic prefix."""

    signer: ReceiptSigner
    controller: Controller
    topic_prefix: str


@dataclass(frozen=True)
class Context:
    """How and where a change was collected (kept with it as proof)."""

    collected_via: CollectionMethod
    source_app: str | None = None
    device: str | None = None
    ip_prefix: str | None = None
    user_agent_hash: str | None = None

    def source(self) -> dict[str, Any]:
        return {
            "app": self.source_app,
            "device": self.device,
            "ip": self.ip_prefix,
            "user_agent_sha256": self.user_agent_hash,
        }


SYSTEM = Context(CollectionMethod.SYSTEM)


def chain_fields(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "event_id": str(entry.event_id),
        "subject_id": str(entry.subject_id),
        "version": entry.version,
        "purpose": entry.purpose_id,
        "purpose_version": entry.purpose_version,
        "notice_hash": entry.notice_hash,
        "brand": entry.brand,
        "channel": entry.channel,
        "status": entry.status,
        "collected_via": entry.collected_via,
        "source": entry.source,
        "occurred_at": entry.occurred_at.isoformat(),
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
    }


def new_record(
    subject_id: uuid.UUID, purpose_id: str, brand: str | None, channel: str | None
) -> ConsentRecord:
    return ConsentRecord(
        id=uuid.uuid4(),
        subject_id=subject_id,
        purpose_id=purpose_id,
        brand=brand or ANY,
        channel=channel or ANY,
    )


def _none(value: str) -> str | None:
    return value or None


async def record_change(
    session: AsyncSession,
    recorder: Recorder,
    *,
    subject: Subject,
    purpose: Purpose,
    version: PurposeVersion,
    status: ConsentStatus,
    brand: str | None,
    channel: str | None,
    expires_at: datetime | None,
    context: Context,
    record: ConsentRecord,
) -> HistoryEntry:
    """Append one change. The subject row must be locked by the caller (lock_subject)."""
    now = utcnow()
    subject.version += 1
    entry = HistoryEntry(
        event_id=uuid.uuid4(),
        subject_id=subject.id,
        version=subject.version,
        purpose_id=purpose.id,
        purpose_version=version.version,
        notice_hash=version.notice_hash,
        brand=brand or ANY,
        channel=channel or ANY,
        status=status.value,
        collected_via=context.collected_via.value,
        source=context.source(),
        occurred_at=now,
        expires_at=expires_at,
        previous_hash=subject.head_hash,
    )
    entry.entry_hash = entry_hash(chain_fields(entry), entry.previous_hash)
    entry.receipt = recorder.signer.sign(receipt_claims(recorder, purpose, entry))
    subject.head_hash = entry.entry_hash
    session.add(record)
    record.status = status.value
    record.purpose_version = version.version
    record.collected_via = context.collected_via.value
    record.version = subject.version
    record.updated_at = now
    record.expires_at = expires_at
    await repository.add(session, entry)

    event_model = CHANGE_EVENTS[status]
    change = event_model(
        subject_id=subject.id,
        version=entry.version,
        purpose=purpose.id,
        purpose_version=version.version,
        brand=brand,
        channel=channel,
        status=status,
        collected_via=context.collected_via,
        source_app=context.source_app,
        occurred_at=now,
        expires_at=expires_at,
        entry_hash=entry.entry_hash,
        previous_hash=entry.previous_hash,
    )
    await stage(
        session,
        CloudEvent.wrap(change, source=SOURCE, id=entry.event_id),
        topic_prefix=recorder.topic_prefix,
    )
    return entry


async def stage_state(
    session: AsyncSession,
    recorder: Recorder,
    subject: Subject,
    records: Sequence[ConsentRecord] | None = None,
) -> None:
    """Stage the subject's whole current consent set for the compacted state topic.

    `records`: the subject's current records when the caller holds them all already.
    """
    if records is None:
        records = await repository.records_of(session, subject.id)
    records = sorted(records, key=lambda r: (r.purpose_id, r.brand, r.channel))
    state = ConsentState(
        subject_id=subject.id,
        version=subject.version,
        updated_at=utcnow(),
        consents=[
            ConsentStateItem(
                purpose=r.purpose_id,
                purpose_version=r.purpose_version,
                brand=_none(r.brand),
                channel=_none(r.channel),
                status=ConsentStatus(r.status),
                version=r.version,
                updated_at=r.updated_at,
                expires_at=r.expires_at,
            )
            for r in records
        ],
    )
    await stage(session, CloudEvent.wrap(state, source=SOURCE), topic_prefix=recorder.topic_prefix)


def receipt_claims(recorder: Recorder, purpose: Purpose, entry: HistoryEntry) -> dict[str, Any]:
    """A consent receipt with the fields of the Kantara Consent Receipt v1.1 and the record
    fields of ISO/IEC TS 27560 (status, notice hash, legal basis, chain links)."""
    c = recorder.controller
    implicit = (CollectionMethod.GPC.value, CollectionMethod.SYSTEM.value)
    explicit = entry.collected_via not in implicit
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": c.jurisdiction,
        "consentTimestamp": int(entry.occurred_at.timestamp()),
        "collectionMethod": entry.collected_via,
        "consentReceiptID": str(entry.event_id),
        "publicKey": recorder.signer.kid,
        "language": "en",
        "piiPrincipalId": str(entry.subject_id),
        "piiControllers": [
            {"piiController": c.name, "contact": c.contact, "email": c.contact, "onBehalf": False}
        ],
        "policyUrl": c.policy_url,
        "services": [
            {
                "service": entry.brand or "all brands",
                "purposes": [
                    {
                        "purpose": purpose.names.get("en", purpose.id),
                        "purposeId": purpose.id,
                        "purposeCategory": [purpose.id],
                        "consentType": "EXPLICIT" if explicit else "IMPLICIT",
                        "piiCategory": list(purpose.data_categories),
                        "primaryPurpose": False,
                        "termination": entry.expires_at.isoformat()
                        if entry.expires_at
                        else "until withdrawn",
                        "thirdPartyDisclosure": purpose.sale_or_share,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        # ISO/IEC TS 27560 consent record fields
        "recordId": str(entry.event_id),
        "status": entry.status,
        "statusVersion": entry.version,
        "legalBasis": purpose.legal_basis,
        "noticeVersion": entry.purpose_version,
        "noticeHash": entry.notice_hash,
        "channel": entry.channel or None,
        "brand": entry.brand or None,
        "source": entry.source,
        "expiresAt": entry.expires_at.isoformat() if entry.expires_at else None,
        "entryHash": entry.entry_hash,
        "previousHash": entry.previous_hash,
    }
