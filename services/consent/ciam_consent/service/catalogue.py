"""The purpose catalogue: seed, read, add purposes, publish notice versions.

Every purpose is also published as `PurposeDefined` on the compacted purposes topic, so other
services (the profile service maps purposes to data kinds) learn the catalogue without reading
this database: a new purpose or version is staged in the outbox with its change; at start the
whole catalogue is announced again (`announce_catalogue`), which covers the seeded defaults and
databases created before the topic existed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent import repository
from ciam_consent.errors import PurposeExists, PurposeNotFound
from ciam_consent.integrity import notice_hash
from ciam_consent.models import Purpose, PurposeVersion
from ciam_consent.service.changes import locked_subject
from ciam_consent.service.recording import (
    SOURCE,
    SYSTEM,
    Recorder,
    record_change,
    stage_state,
)
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, ConsentStatus, PurposeDefined
from ciam_shared.outbox import stage


@dataclass(frozen=True)
class PurposeView:
    purpose: Purpose
    versions: list[PurposeVersion]


def default_catalogue() -> list[dict[str, Any]]:
    text = resources.files("ciam_consent").joinpath("catalogue.json").read_text("utf-8")
    catalogue: list[dict[str, Any]] = json.loads(text)
    return catalogue


async def seed(session: AsyncSession) -> int:
    """Load the default catalogue into an empty one; returns how many purposes were added.
    Not staged in the outbox: `announce_catalogue` publishes it at every start. Replicas
    seed one at a time: the second finds the first's catalogue."""
    await repository.lock_catalogue(session)
    if await repository.count_purposes(session):
        return 0
    for spec in default_catalogue():
        await create_purpose(session, spec)
    return len(default_catalogue())


def purpose_defined(purpose: Purpose) -> CloudEvent[PurposeDefined]:
    data = PurposeDefined(
        purpose_id=purpose.id,
        legal_basis=purpose.legal_basis,
        data_categories=list(purpose.data_categories),
        channels=list(purpose.channels),
        sale_or_share=purpose.sale_or_share,
        current_version=purpose.current_version,
        min_valid_version=purpose.min_valid_version,
        defined_at=utcnow(),
    )
    return CloudEvent.wrap(data, source=SOURCE)


async def catalogue_events(session: AsyncSession) -> list[CloudEvent[PurposeDefined]]:
    return [purpose_defined(p) for p in await repository.purposes(session)]


async def create_purpose(
    session: AsyncSession, spec: dict[str, Any], *, topic_prefix: str | None = None
) -> PurposeView:
    """Add a purpose; with a `topic_prefix`, also stage its `PurposeDefined`."""
    spec = dict(spec)
    notice = spec.pop("notice")
    now = utcnow()
    purpose = Purpose(**spec, current_version=1, min_valid_version=1, created_at=now)
    version = PurposeVersion(
        purpose_id=purpose.id,
        version=1,
        notice=notice,
        notice_hash=notice_hash(notice),
        published_at=now,
    )
    if await session.get(Purpose, purpose.id) is not None:
        raise PurposeExists(f"`{purpose.id}` exists; publish a new version instead.")
    try:
        async with session.begin_nested():
            await repository.add(session, purpose)
            await repository.add(session, version)
    except IntegrityError:
        raise PurposeExists(f"`{purpose.id}` exists; publish a new version instead.") from None
    if topic_prefix is not None:
        await stage(session, purpose_defined(purpose), topic_prefix=topic_prefix)
    return PurposeView(purpose, [version])


async def list_purposes(session: AsyncSession) -> list[PurposeView]:
    purposes = await repository.purposes(session)
    versions = await repository.versions_of(session, {p.id for p in purposes})
    by_purpose: dict[str, list[PurposeVersion]] = defaultdict(list)
    for (pid, _), v in sorted(versions.items()):
        by_purpose[pid].append(v)
    return [PurposeView(p, by_purpose[p.id]) for p in purposes]


async def get_purpose(session: AsyncSession, purpose_id: str) -> PurposeView:
    for view in await list_purposes(session):
        if view.purpose.id == purpose_id:
            return view
    raise PurposeNotFound(f"No purpose `{purpose_id}`.")


async def publish_version(
    session: AsyncSession,
    recorder: Recorder,
    purpose_id: str,
    notice: dict[str, str],
    *,
    requires_reconsent: bool,
) -> tuple[PurposeView, int]:
    """Publish a new notice version. With `requires_reconsent`, it becomes the minimum valid
    version: every grant of an older version moves to needs-reconsent, and each of those
    changes is recorded and published like any other. Returns the view and how many moved."""
    purpose = await repository.purpose_for_update(session, purpose_id)
    if purpose is None:
        raise PurposeNotFound(f"No purpose `{purpose_id}`.")
    purpose.current_version += 1
    version = PurposeVersion(
        purpose_id=purpose.id,
        version=purpose.current_version,
        notice=notice,
        notice_hash=notice_hash(notice),
        published_at=utcnow(),
    )
    await repository.add(session, version)
    moved = 0
    if requires_reconsent:
        purpose.min_valid_version = purpose.current_version
        moved = await _require_reconsent(session, recorder, purpose)
    await stage(session, purpose_defined(purpose), topic_prefix=recorder.topic_prefix)
    return await get_purpose(session, purpose_id), moved


async def _require_reconsent(session: AsyncSession, recorder: Recorder, purpose: Purpose) -> int:
    minimum = purpose.min_valid_version
    stale = await repository.granted_below_version(session, purpose.id, minimum)
    versions = await repository.versions_of(session, {purpose.id})
    moved = 0
    for subject_id in sorted({r.subject_id for r in stale}):
        subject = await locked_subject(session, subject_id)
        # Read again under the lock: a change may have landed since the first read.
        own = [
            r
            for r in await repository.records_of(session, subject_id)
            if r.purpose_id == purpose.id
            and r.status == ConsentStatus.GRANTED.value
            and r.purpose_version < minimum
        ]
        if not own:
            continue
        for record in own:
            await record_change(
                session,
                recorder,
                subject=subject,
                purpose=purpose,
                version=versions[(purpose.id, record.purpose_version)],
                status=ConsentStatus.NEEDS_RECONSENT,
                brand=record.brand or None,
                channel=record.channel or None,
                expires_at=None,
                context=SYSTEM,
                record=record,
            )
            moved += 1
        await stage_state(session, recorder, subject)
    return moved
