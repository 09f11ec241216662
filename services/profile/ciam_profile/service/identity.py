"""The identity graph's changes: linking identifiers (stitching an anonymous device to its
owner on sign-in), merging two profiles and undoing a merge.

A merge changes no data: the absorbed profile points at the survivor (`merged_into`) and
reads assemble the cluster with the merge rules (fields.py). Undo clears the pointer, so both
profiles are exactly what they were, plus whatever was written to each since.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile import repository
from ciam_profile.cache import ProfileCache
from ciam_profile.errors import (
    IdentifierClaimed,
    MergeAlreadyUndone,
    MergeNotFound,
    MergeRefused,
    ProfileNotFound,
)
from ciam_profile.models import Identifier, Merge, Profile
from ciam_profile.schemas import IdentifierIn
from ciam_profile.service import SOURCE
from ciam_profile.service.graph import cluster_of
from ciam_profile.service.profiles import add_identifiers
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, IdentifierLinked, ProfileMergeUndone, ProfilesMerged
from ciam_shared.outbox import stage

SIGN_IN, MANUAL = "sign-in", "manual"


async def link_identifier(
    session: AsyncSession,
    cache: ProfileCache,
    subject_id: uuid.UUID,
    identifier: IdentifierIn,
    *,
    by: str,
    topic_prefix: str,
) -> uuid.UUID | None:
    """Make `identifier` resolve to the subject. An identifier of an anonymous profile
    stitches that profile into the subject's (a merge, whose id is returned); one of another
    customer is refused and nothing is written."""
    cluster = await cluster_of(session, subject_id)
    if cluster is None:
        raise ProfileNotFound(f"No profile for subject {subject_id}.")
    kind, value = identifier.kind.value, identifier.value
    existing = await repository.identifier(session, kind, value)
    if existing is None:
        now = utcnow()
        await add_identifiers(
            session, [Identifier(kind=kind, value=value, subject_id=subject_id, linked_at=now)]
        )
        await cache.invalidate(session, cluster.members)
        event = IdentifierLinked(subject_id=subject_id, kind=kind, linked_at=now)
        await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)
        return None
    owner = await cluster_of(session, existing.subject_id)
    assert owner is not None
    if owner.root == cluster.root:
        return None  # already this person's
    if owner.known:
        raise IdentifierClaimed(f"This {kind} identifier belongs to another customer.")
    merge = await merge_profiles(
        session,
        cache,
        survivor_id=cluster.root,
        absorbed_id=owner.root,
        reason=SIGN_IN,
        by=by,
        topic_prefix=topic_prefix,
    )
    return merge.id


async def merge_profiles(
    session: AsyncSession,
    cache: ProfileCache,
    *,
    survivor_id: uuid.UUID,
    absorbed_id: uuid.UUID,
    reason: str,
    by: str,
    topic_prefix: str,
) -> Merge:
    if survivor_id == absorbed_id:
        raise MergeRefused("A profile cannot be merged into itself.")
    # Lock both in one order, so two merges of the same pair cannot deadlock.
    locked: dict[uuid.UUID, Profile] = {}
    for subject in sorted((survivor_id, absorbed_id)):
        profile = await repository.profile_for_update(session, subject)
        if profile is None:
            raise ProfileNotFound(f"No profile for subject {subject}.")
        locked[subject] = profile
    survivor, absorbed = locked[survivor_id], locked[absorbed_id]
    if survivor.merged_into is not None or absorbed.merged_into is not None:
        raise MergeRefused("Only profiles that are not merged into another can be merged.")
    if absorbed.known and not survivor.known:
        raise MergeRefused(
            "A registered customer's profile cannot be merged into an anonymous one."
        )
    before = [await cluster_of(session, s) for s in (survivor_id, absorbed_id)]
    now = utcnow()
    absorbed.merged_into = survivor_id
    survivor.updated_at = now
    merge = Merge(
        id=uuid.uuid4(),
        survivor_id=survivor_id,
        absorbed_id=absorbed_id,
        reason=reason,
        merged_by=by[:200],
        merged_at=now,
    )
    await repository.add(session, merge)
    await cache.invalidate(session, [m for c in before if c for m in c.members])
    event = ProfilesMerged(
        subject_id=survivor_id,
        absorbed_subject_id=absorbed_id,
        merge_id=merge.id,
        reason=reason,
        merged_at=now,
    )
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)
    return merge


async def undo_merge(
    session: AsyncSession, cache: ProfileCache, merge_id: uuid.UUID, *, by: str, topic_prefix: str
) -> Merge:
    merge = await repository.merge_of(session, merge_id)
    if merge is None:
        raise MergeNotFound(f"No merge {merge_id}.")
    if merge.undone_at is not None:
        raise MergeAlreadyUndone(f"Merge {merge_id} was undone at {merge.undone_at.isoformat()}.")
    absorbed = await repository.profile_for_update(session, merge.absorbed_id)
    if absorbed is None or absorbed.merged_into != merge.survivor_id:
        raise MergeRefused("The profiles of this merge changed since; it cannot be undone.")
    before = await cluster_of(session, merge.survivor_id)
    now = utcnow()
    absorbed.merged_into = None
    absorbed.updated_at = now
    merge.undone_at, merge.undone_by = now, by[:200]
    await session.flush()
    await cache.invalidate(session, before.members if before else [merge.absorbed_id])
    event = ProfileMergeUndone(
        subject_id=merge.survivor_id,
        absorbed_subject_id=merge.absorbed_id,
        merge_id=merge.id,
        undone_at=now,
    )
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)
    return merge
