"""The one way a consent changes: a new subject version, a chained history entry, a signed
receipt, the current record, and the change event staged in the same transaction. After the
changes of one request, one `ConsentState` of the subject is staged for the compacted topic."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent import repository
from ciam_consent.integrity import ReceiptSigner, entry_hash
from ciam_consent.models import ANY, ConsentRecord, HistoryEntry, Purpose, PurposeVersion, Subject
from ciam_consent.repository import CurrentRecord
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


class CatalogueCache:
    """The purpose catalogue in memory for the hot path of a change. Every change to the
    catalogue adds a purpose version (a new purpose, a notice version, a reconsent), so the
    number of versions, which the subject's lock statement reads in the same round trip, tells
    whether this copy is current: any process's change is seen by the next request."""

    def __init__(self) -> None:
        self.purposes: dict[str, Purpose] = {}
        self.versions: dict[tuple[str, int], PurposeVersion] = {}
        self.size = -1

    async def current(
        self, session: AsyncSession, size: int
    ) -> tuple[dict[str, Purpose], dict[tuple[str, int], PurposeVersion]]:
        """The catalogue, loaded again in `session` when it holds `size` versions and this
        copy does not."""
        if size != self.size:
            purposes = list(await repository.purposes(session))
            versions = await repository.versions_of(session, {p.id for p in purposes})
            # Out of the session: its rollback would expire them, and they outlive it.
            for row in (*purposes, *versions.values()):
                session.expunge(row)
            self.purposes = {p.id: p for p in purposes}
            self.versions = versions
            self.size = len(versions)
        return self.purposes, self.versions


@dataclass(frozen=True)
class Recorder:
    """What recording needs besides the session: the signer, the controller, the topic prefix
    (and the catalogue cache of the hot path)."""

    signer: ReceiptSigner
    controller: Controller
    topic_prefix: str
    catalogue: CatalogueCache = field(default_factory=CatalogueCache)


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


@dataclass(frozen=True)
class Change:
    """One change made: its history entry (not added to any session) and its event."""

    entry: HistoryEntry
    event: CloudEvent[Any]


def make_change(
    recorder: Recorder,
    *,
    subject_id: uuid.UUID,
    version_number: int,
    previous_hash: str | None,
    purpose: Purpose,
    version: PurposeVersion,
    status: ConsentStatus,
    brand: str | None,
    channel: str | None,
    expires_at: datetime | None,
    context: Context,
    now: datetime,
) -> Change:
    """The history entry of a change as subject version `version_number`, chained to
    `previous_hash`, with its signed receipt, and the change event: no I/O."""
    entry = HistoryEntry(
        event_id=uuid.uuid4(),
        subject_id=subject_id,
        version=version_number,
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
        previous_hash=previous_hash,
    )
    entry.entry_hash = entry_hash(chain_fields(entry), entry.previous_hash)
    entry.receipt = recorder.signer.sign(receipt_claims(recorder, purpose, entry))
    event_model = CHANGE_EVENTS[status]
    change = event_model(
        subject_id=subject_id,
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
    return Change(entry, CloudEvent.wrap(change, source=SOURCE, id=entry.event_id))


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
    made = make_change(
        recorder,
        subject_id=subject.id,
        version_number=subject.version + 1,
        previous_hash=subject.head_hash,
        purpose=purpose,
        version=version,
        status=status,
        brand=brand,
        channel=channel,
        expires_at=expires_at,
        context=context,
        now=now,
    )
    entry = made.entry
    subject.version = entry.version
    subject.head_hash = entry.entry_hash
    session.add(record)
    record.status = status.value
    record.purpose_version = version.version
    record.collected_via = context.collected_via.value
    record.version = subject.version
    record.updated_at = now
    record.expires_at = expires_at
    await repository.add(session, entry)
    await stage(session, made.event, topic_prefix=recorder.topic_prefix)
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
    state = state_event(subject.id, subject.version, records)
    await stage(session, state, topic_prefix=recorder.topic_prefix)


def state_event(
    subject_id: uuid.UUID,
    version: int,
    records: Sequence[ConsentRecord | CurrentRecord],
) -> CloudEvent[ConsentState]:
    """The subject's whole current consent set at `version`, for the compacted state topic."""
    ordered = sorted(records, key=lambda r: (r.purpose_id, r.brand, r.channel))
    state = ConsentState(
        subject_id=subject_id,
        version=version,
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
            for r in ordered
        ],
    )
    return CloudEvent.wrap(state, source=SOURCE)


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
