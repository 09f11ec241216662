"""Export (GDPR art. 15/20) and erasure (art. 17) of a subject's profile.

Erasure, on the account-deletion event: the subject's profile, fields, identifiers, tracked
events, merges and outbox rows are deleted, and with them every anonymous profile merged into
it (the same person's devices); a registered profile merged into it stands alone again. The
cache of the whole cluster is dropped, and `ProfileErased` is staged in the same transaction.
The profile service publishes to no compacted topic, so there is no tombstone of its own to
write (the consent service tombstones the consent state).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile import repository
from ciam_profile.cache import ProfileCache
from ciam_profile.errors import ProfileNotFound
from ciam_profile.service import SOURCE
from ciam_profile.service.graph import cluster_of, subtree_of
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, ProfileErased
from ciam_shared.outbox import stage


async def erase_subject(
    session: AsyncSession,
    cache: ProfileCache,
    subject_id: uuid.UUID,
    *,
    cause_event_id: uuid.UUID,
    topic_prefix: str,
) -> list[uuid.UUID]:
    cluster = await cluster_of(session, subject_id)
    erased: list[uuid.UUID] = []
    if cluster is not None:
        below = await subtree_of(session, subject_id)
        erased = [subject_id] + [r.subject_id for r in below if not r.known]
        await repository.detach(session, [r.subject_id for r in below if r.known])
        await cache.invalidate(session, set(cluster.members) | {subject_id})
        await repository.erase(session, erased)
    event = ProfileErased(
        subject_id=subject_id,
        erased_subject_ids=erased,
        erased_at=utcnow(),
        cause_event_id=cause_event_id,
    )
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)
    return erased


async def export_subject(session: AsyncSession, subject_id: uuid.UUID) -> dict[str, Any]:
    """Everything held about the subject's cluster, as one JSON-ready document."""
    cluster = await cluster_of(session, subject_id)
    if cluster is None:
        raise ProfileNotFound(f"No profile for subject {subject_id}.")
    members = cluster.members
    profiles = [await repository.profile_of(session, m) for m in members]
    fields = await repository.fields_of(session, members)
    identifiers = await repository.identifiers_of(session, members)
    merges = await repository.merges_of(session, members)
    events = await repository.events_of(session, members)
    return {
        "subject_id": str(cluster.root),
        "exported_at": utcnow().isoformat(),
        "profiles": [
            {
                "subject_id": str(p.subject_id),
                "known": p.known,
                "gpc": p.gpc,
                "merged_into": str(p.merged_into) if p.merged_into else None,
                "registered_at": p.registered_at.isoformat() if p.registered_at else None,
                "created_at": p.created_at.isoformat(),
                "updated_at": p.updated_at.isoformat(),
                "fields": {
                    f.name: {
                        "value": f.value,
                        "kind": f.kind,
                        "updated_by": f.updated_by,
                        "updated_at": f.updated_at.isoformat(),
                    }
                    for f in fields
                    if f.subject_id == p.subject_id
                },
                "identifiers": [
                    {"kind": i.kind, "value": i.value, "linked_at": i.linked_at.isoformat()}
                    for i in identifiers
                    if i.subject_id == p.subject_id
                ],
            }
            for p in profiles
            if p is not None
        ],
        "merges": [
            {
                "id": str(m.id),
                "survivor_id": str(m.survivor_id),
                "absorbed_id": str(m.absorbed_id),
                "reason": m.reason,
                "merged_at": m.merged_at.isoformat(),
                "undone_at": m.undone_at.isoformat() if m.undone_at else None,
            }
            for m in merges
        ],
        "tracked_events": [
            {
                "id": str(e.id),
                "subject_id": str(e.subject_id),
                "app": e.app,
                "type": e.type,
                "channel": e.channel,
                "device_id": e.device_id,
                "occurred_at": e.occurred_at.isoformat(),
                "properties": e.properties,
            }
            for e in events
        ],
    }
