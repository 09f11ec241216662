"""Creating profiles (from a registration, or for an anonymous visitor) and writing fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile import repository
from ciam_profile.auth import Principal, writable_kinds
from ciam_profile.cache import ProfileCache
from ciam_profile.errors import FieldNotWritable, IdentifierClaimed, ProfileNotFound
from ciam_profile.fields import FIELDS
from ciam_profile.models import Identifier, Profile
from ciam_profile.schemas import IdentifierIn
from ciam_profile.service import SOURCE
from ciam_profile.service.graph import cluster_of
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, IdentifierLinked, ProfileCreated, ProfileUpdated
from ciam_shared.outbox import stage, stage_many


async def create_profile_for_registration(
    session: AsyncSession,
    *,
    subject_id: uuid.UUID,
    registered_at: datetime,
    cause_event_id: uuid.UUID,
    topic_prefix: str,
) -> bool:
    """Create the subject's empty profile; False when it already has one."""
    if await repository.profile_of(session, subject_id) is not None:
        return False
    now = utcnow()
    profile = Profile(
        subject_id=subject_id,
        registered_at=registered_at,
        created_at=now,
        updated_at=now,
        known=True,
        gpc=False,
    )
    await repository.add(session, profile)
    created = ProfileCreated(subject_id=subject_id, created_at=now, cause_event_id=cause_event_id)
    await stage(session, CloudEvent.wrap(created, source=SOURCE), topic_prefix=topic_prefix)
    return True


async def create_anonymous(
    session: AsyncSession,
    identifiers: list[IdentifierIn],
    *,
    gpc: bool,
    topic_prefix: str,
) -> tuple[uuid.UUID, bool]:
    """The subject an anonymous visitor's device or cookie ids resolve to, created when none
    does. Returns (subject id, created)."""
    pairs = {(i.kind.value, i.value) for i in identifiers}
    owners = set((await repository.subjects_of_identifiers(session, pairs)).values())
    if len(owners) > 1:
        raise IdentifierClaimed("These identifiers belong to different subjects.")
    now = utcnow()
    if owners:
        subject_id = owners.pop()
        created = False
        known = await repository.profiles_of(session, [subject_id])
        if gpc and not known[subject_id].known:
            profile = await repository.profile_for_update(session, subject_id)
            assert profile is not None
            profile.gpc = True  # sticky: once a visitor sent GPC, they stay untracked
    else:
        subject_id, created = uuid.uuid4(), True
        profile = Profile(
            subject_id=subject_id, created_at=now, updated_at=now, known=False, gpc=gpc
        )
        await repository.add(session, profile)
        event = ProfileCreated(subject_id=subject_id, created_at=now, anonymous=True)
        await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)
    missing = pairs - set((await repository.subjects_of_identifiers(session, pairs)).keys())
    if missing:
        rows = [
            Identifier(kind=k, value=v, subject_id=subject_id, linked_at=now) for k, v in missing
        ]
        await add_identifiers(session, rows)
        await stage_many(
            session,
            [
                CloudEvent.wrap(
                    IdentifierLinked(subject_id=subject_id, kind=k, linked_at=now), source=SOURCE
                )
                for k, _ in sorted(missing)
            ],
            topic_prefix=topic_prefix,
        )
    return subject_id, created


async def update_fields(
    session: AsyncSession,
    cache: ProfileCache,
    principal: Principal,
    subject_id: uuid.UUID,
    values: dict[str, Any],
    *,
    topic_prefix: str,
) -> None:
    """Write (or, for None, delete) fields of the subject's profile, all or nothing. On a
    merged profile the survivor's row is written: it wins the merge rules as the latest."""
    if not values:
        return  # nothing to write, nothing to announce
    allowed = writable_kinds(principal)
    refused = sorted(n for n in values if FIELDS[n].kind not in allowed)
    if refused:
        raise FieldNotWritable(f"This caller may not write {', '.join(refused)}.", fields=refused)
    cluster = await cluster_of(session, subject_id)
    if cluster is None:
        raise ProfileNotFound(f"No profile for subject {subject_id}.")
    profile = await repository.profile_for_update(session, cluster.root)
    assert profile is not None
    now = utcnow()
    written = [
        {
            "subject_id": cluster.root,
            "name": name,
            "kind": FIELDS[name].kind.value,
            "value": value,
            "updated_by": principal.id[:200],
            "updated_at": now,
            "imported_for": None,  # the writer's value now, whatever the import brought
        }
        for name, value in values.items()
        if value is not None
    ]
    if written:
        await repository.upsert_fields(session, written)
    deleted = [name for name, value in values.items() if value is None]
    if deleted:
        await repository.delete_fields(session, cluster.root, deleted)
    profile.updated_at = now
    await cache.invalidate(session, cluster.members)
    event = ProfileUpdated(
        subject_id=cluster.root,
        fields=sorted(values),
        kinds=sorted({FIELDS[n].kind.value for n in values}),
        updated_by=principal.id[:200],
        updated_at=now,
    )
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)


async def add_identifiers(session: AsyncSession, rows: list[Identifier]) -> None:
    """Insert; an identifier another request claimed meanwhile is a conflict, not a 500."""
    try:
        async with session.begin_nested():
            await repository.add(session, *rows)
    except IntegrityError:
        raise IdentifierClaimed("The identifier was just claimed by another subject.") from None
