"""Subjects coming and going, and consents running out."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent import repository
from ciam_consent.service.changes import locked_subject
from ciam_consent.service.recording import SOURCE, SYSTEM, Recorder, record_change, stage_state
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, ConsentStatus, SubjectConsentsErased
from ciam_shared.outbox import stage, stage_tombstone
from ciam_shared.topics import CONSENT_STATE


async def learn_subject(
    session: AsyncSession, subject_id: uuid.UUID, registered_at: datetime
) -> None:
    await repository.record_registration(session, subject_id, registered_at)


async def erase_subject(session: AsyncSession, recorder: Recorder, subject_id: uuid.UUID) -> bool:
    """Erase the subject's consents: the records go, the compacted state gets a tombstone.

    The history stays: it holds no personal data (a pseudonymous id, a truncated IP, a hashed
    user agent) and is the controller's proof of consent (GDPR art. 7(1)).
    """
    subject = await repository.lock_subject(session, subject_id)
    if subject.erased_at is not None:
        return False
    subject.version += 1
    subject.erased_at = utcnow()
    await repository.delete_records(session, subject_id)
    erased = SubjectConsentsErased(
        subject_id=subject_id, version=subject.version, occurred_at=subject.erased_at
    )
    await stage(session, CloudEvent.wrap(erased, source=SOURCE), topic_prefix=recorder.topic_prefix)
    await stage_tombstone(
        session,
        topic_base_name=CONSENT_STATE.base_name,
        key=str(subject_id),
        version=subject.version,
        topic_prefix=recorder.topic_prefix,
    )
    return True


async def expire_due(session: AsyncSession, recorder: Recorder, *, limit: int = 500) -> int:
    """Move grants past their expiry to `expired`; returns how many moved."""
    now = utcnow()
    due = await repository.expired_grants(session, now, limit)
    by_subject: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for record in due:
        by_subject[record.subject_id].add(record.id)
    moved = 0
    for subject_id, record_ids in sorted(by_subject.items()):
        subject = await locked_subject(session, subject_id)
        records = [
            r
            for r in await repository.records_of(session, subject_id)
            if r.id in record_ids
            and r.status == ConsentStatus.GRANTED.value
            and r.expires_at is not None
            and r.expires_at <= now
        ]
        if not records:
            continue
        purposes = await repository.purposes_by_id(session, {r.purpose_id for r in records})
        versions = await repository.versions_of(session, set(purposes))
        for record in records:
            await record_change(
                session,
                recorder,
                subject=subject,
                purpose=purposes[record.purpose_id],
                version=versions[(record.purpose_id, record.purpose_version)],
                status=ConsentStatus.EXPIRED,
                brand=record.brand or None,
                channel=record.channel or None,
                expires_at=record.expires_at,
                context=SYSTEM,
                record=record,
            )
            moved += 1
        await stage_state(session, recorder, subject)
    return moved
