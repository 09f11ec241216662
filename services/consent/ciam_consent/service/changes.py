"""Grant, deny, withdraw (one or a batch: all or nothing), and Global Privacy Control."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent import repository
from ciam_consent.errors import (
    GpcConflict,
    LegalBasisNotConsent,
    PurposeVersionNotFound,
    PurposeVersionTooOld,
    SubjectErased,
    UnknownPurpose,
)
from ciam_consent.models import ANY, ConsentRecord, HistoryEntry, Purpose, PurposeVersion, Subject
from ciam_consent.repository import CurrentRecord
from ciam_consent.service.recording import (
    Change,
    Context,
    Recorder,
    make_change,
    new_record,
    record_change,
    stage_state,
    state_event,
)
from ciam_shared.db import utcnow
from ciam_shared.events import CollectionMethod, ConsentStatus
from ciam_shared.outbox import outbox_rows, wake_after_commit

CONSENT_BASIS = "dpv:Consent"
OPTED_OUT = {ConsentStatus.WITHDRAWN.value, ConsentStatus.DENIED.value}


@dataclass(frozen=True)
class Requested:
    purpose: str
    status: ConsentStatus
    brand: str | None = None
    channel: str | None = None
    purpose_version: int | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Applied:
    subject_id: uuid.UUID
    version: int
    entries: list[HistoryEntry]


@dataclass(frozen=True)
class _Checked:
    item: Requested
    purpose: Purpose
    version: PurposeVersion


async def _check(session: AsyncSession, items: Sequence[Requested], *, gpc: bool) -> list[_Checked]:
    """Validate the whole batch before anything is written: one bad item refuses them all."""
    ids = {i.purpose for i in items}
    purposes = await repository.purposes_by_id(session, ids)
    versions = await repository.versions_of(session, set(purposes))
    return _validate(purposes, versions, items, gpc=gpc)


def _validate(
    purposes: Mapping[str, Purpose],
    versions: Mapping[tuple[str, int], PurposeVersion],
    items: Sequence[Requested],
    *,
    gpc: bool,
) -> list[_Checked]:
    checked = []
    for index, item in enumerate(items):
        purpose = purposes.get(item.purpose)
        if purpose is None:
            raise UnknownPurpose(f"No purpose `{item.purpose}` in the catalogue.", item=index)
        if purpose.legal_basis != CONSENT_BASIS:
            raise LegalBasisNotConsent(
                f"`{purpose.id}` rests on {purpose.legal_basis}, not on consent: there is "
                "nothing to grant or withdraw.",
                item=index,
            )
        number = item.purpose_version or purpose.current_version
        version = versions.get((purpose.id, number))
        if version is None:
            raise PurposeVersionNotFound(f"`{purpose.id}` has no version {number}.", item=index)
        if item.status is ConsentStatus.GRANTED and number < purpose.min_valid_version:
            raise PurposeVersionTooOld(
                f"`{purpose.id}` version {number} is below the minimum valid version "
                f"{purpose.min_valid_version}.",
                item=index,
            )
        if gpc and purpose.sale_or_share and item.status is ConsentStatus.GRANTED:
            raise GpcConflict(
                f"The request carries Sec-GPC: 1, which opts out of `{purpose.id}`.", item=index
            )
        checked.append(_Checked(item, purpose, version))
    return checked


def _key(purpose: str, brand: str | None, channel: str | None) -> tuple[str, str, str]:
    return (purpose, brand or ANY, channel or ANY)


def _unchanged(
    record: ConsentRecord | CurrentRecord | None,
    status: ConsentStatus,
    number: int,
    expires_at: datetime | None,
) -> bool:
    return (
        record is not None
        and record.status == status.value
        and record.purpose_version == number
        and record.expires_at == expires_at
    )


def _superseded(
    records: Mapping[tuple[str, str, str], ConsentRecord | CurrentRecord], key: tuple[str, str, str]
) -> bool:
    """A wider record of the same purpose (every brand or every channel) changed after this one:
    the newest record decides, so repeating this one's choice is a new decision, not a no-op
    (a brand grant after a GPC opt-out of every brand)."""
    purpose, brand, channel = key
    own = records[key]
    return any(
        other.version > own.version
        for (p, b, c), other in records.items()
        if p == purpose and (b, c) != (brand, channel) and b in (brand, ANY) and c in (channel, ANY)
    )


async def locked_subject(session: AsyncSession, subject_id: uuid.UUID) -> Subject:
    subject = await repository.lock_subject(session, subject_id)
    if subject.erased_at is not None:
        raise SubjectErased(f"Subject {subject_id} was erased.")
    return subject


async def apply_changes(
    session: AsyncSession,
    recorder: Recorder,
    subject_id: uuid.UUID,
    items: Sequence[Requested],
    context: Context,
    *,
    gpc: bool = False,
) -> Applied:
    """Apply a request's changes: all of them or none. The usual request (no GPC signal)
    takes the hot path: three statements (lock, read, write) and the catalogue from memory."""
    if gpc:
        return await _apply_changes_orm(session, recorder, subject_id, items, context, gpc=True)
    head = await repository.lock_subject_head(session, subject_id)
    purposes, versions = await recorder.catalogue.current(session, head.catalogue_versions)
    # Validated under the lock (a refusal rolls the subject's upsert back), in the order
    # of the ORM path: the request's own faults before an erased subject.
    checked = _validate(purposes, versions, items, gpc=False)
    if head.erased_at is not None:
        raise SubjectErased(f"Subject {subject_id} was erased.")
    records: dict[tuple[str, str, str], CurrentRecord] = {
        _key(r.purpose_id, r.brand, r.channel): r
        for r in await repository.current_records(session, subject_id)
    }
    version, head_hash = head.version, head.head_hash
    made: list[Change] = []
    changed: dict[tuple[str, str, str], CurrentRecord] = {}
    for c in checked:
        key = _key(c.purpose.id, c.item.brand, c.item.channel)
        if _unchanged(
            records.get(key), c.item.status, c.version.version, c.item.expires_at
        ) and not _superseded(records, key):
            continue  # repeating a choice changes nothing and proves nothing new
        expires_at = c.item.expires_at if c.item.status is ConsentStatus.GRANTED else None
        now = utcnow()
        change = make_change(
            recorder,
            subject_id=subject_id,
            version_number=version + 1,
            previous_hash=head_hash,
            purpose=c.purpose,
            version=c.version,
            status=c.item.status,
            brand=c.item.brand,
            channel=c.item.channel,
            expires_at=expires_at,
            context=context,
            now=now,
        )
        made.append(change)
        version, head_hash = change.entry.version, change.entry.entry_hash
        old = records.get(key)
        # A later item of the batch for the same scope sees (and replaces) this one.
        records[key] = changed[key] = CurrentRecord(
            id=old.id if old is not None else uuid.uuid4(),
            subject_id=subject_id,
            purpose_id=key[0],
            brand=key[1],
            channel=key[2],
            status=c.item.status.value,
            purpose_version=c.version.version,
            collected_via=context.collected_via.value,
            version=version,
            updated_at=now,
            expires_at=expires_at,
        )
    if made:
        # `records` holds every record of the subject: read under the lock, updated since.
        events = [m.event for m in made]
        events.append(state_event(subject_id, version, list(records.values())))
        await repository.write_changes(
            session,
            subject_id,
            version=version,
            head_hash=head_hash,
            entries=[m.entry for m in made],
            records=list(changed.values()),
            outbox_rows=outbox_rows(events, topic_prefix=recorder.topic_prefix),
        )
        wake_after_commit(session)
    return Applied(subject_id, version, [m.entry for m in made])


async def _apply_changes_orm(
    session: AsyncSession,
    recorder: Recorder,
    subject_id: uuid.UUID,
    items: Sequence[Requested],
    context: Context,
    *,
    gpc: bool = False,
) -> Applied:
    checked = await _check(session, items, gpc=gpc)
    subject = await locked_subject(session, subject_id)
    entries = await _gpc_opt_out(session, recorder, subject, context) if gpc else []
    records = {
        _key(r.purpose_id, r.brand, r.channel): r
        for r in await repository.records_of(session, subject_id)
    }
    for c in checked:
        key = _key(c.purpose.id, c.item.brand, c.item.channel)
        if _unchanged(
            records.get(key), c.item.status, c.version.version, c.item.expires_at
        ) and not _superseded(records, key):
            continue  # repeating a choice changes nothing and proves nothing new
        expires_at = c.item.expires_at if c.item.status is ConsentStatus.GRANTED else None
        record = records.get(key) or new_record(subject_id, *key)
        records[key] = record  # a later item of the batch for the same scope sees this one
        entry = await record_change(
            session,
            recorder,
            subject=subject,
            purpose=c.purpose,
            version=c.version,
            status=c.item.status,
            brand=c.item.brand,
            channel=c.item.channel,
            expires_at=expires_at,
            context=context,
            record=record,
        )
        entries.append(entry)
    if entries:
        # `records` holds every record of the subject: read under the lock, updated since.
        await stage_state(session, recorder, subject, list(records.values()))
    return Applied(subject_id, subject.version, entries)


async def honour_gpc(
    session: AsyncSession, recorder: Recorder, subject_id: uuid.UUID, context: Context
) -> Applied:
    """A request with `Sec-GPC: 1` opts the subject out of every sale/share purpose."""
    subject = await locked_subject(session, subject_id)
    entries = await _gpc_opt_out(session, recorder, subject, context)
    if entries:
        await stage_state(session, recorder, subject)
    return Applied(subject_id, subject.version, entries)


async def _gpc_opt_out(
    session: AsyncSession, recorder: Recorder, subject: Subject, context: Context
) -> list[HistoryEntry]:
    gpc_context = Context(
        CollectionMethod.GPC,
        context.source_app,
        context.device,
        context.ip_prefix,
        context.user_agent_hash,
    )
    records = await repository.records_of(session, subject.id)
    entries = []
    for purpose in await repository.purposes(session):
        if not purpose.sale_or_share or purpose.legal_basis != CONSENT_BASIS:
            continue
        own = [r for r in records if r.purpose_id == purpose.id]
        latest = max(own, key=lambda r: r.version, default=None)
        general = next((r for r in own if not r.brand and not r.channel), None)
        if latest is not None and latest is general and latest.status in OPTED_OUT:
            continue  # already opted out everywhere, and nothing granted since
        versions = await repository.versions_of(session, {purpose.id})
        version = versions[(purpose.id, purpose.current_version)]
        entries.append(
            await record_change(
                session,
                recorder,
                subject=subject,
                purpose=purpose,
                version=version,
                status=ConsentStatus.WITHDRAWN,
                brand=None,
                channel=None,
                expires_at=None,
                context=gpc_context,
                record=general or new_record(subject.id, purpose.id, None, None),
            )
        )
    return entries
