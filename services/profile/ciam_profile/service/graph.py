"""The identity graph: which subjects form one person (a cluster), found by following
`merged_into` up to the survivor (the root) and back down to every profile merged into it."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile import repository
from ciam_profile.gate import Cluster
from ciam_profile.repository import Node

MAX_DEPTH = 32  # merges chain at most this deep; a cycle cannot form (only roots merge)


async def clusters_of(
    session: AsyncSession, subject_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Cluster]:
    """The cluster of each known subject id (ids without a profile are left out)."""
    info: dict[uuid.UUID, Node] = dict(await repository.profiles_of(session, subject_ids))
    for _ in range(MAX_DEPTH):
        parents = {r.merged_into for r in info.values() if r.merged_into is not None}
        missing = parents - info.keys()
        if not missing:
            break
        info |= await repository.profiles_of(session, missing)
    roots = {s: _root(info, s) for s in subject_ids if s in info}
    members: dict[uuid.UUID, list[uuid.UUID]] = {r: [r] for r in set(roots.values())}
    owner = {r: r for r in members}  # member -> its root
    level = set(members)
    for _ in range(MAX_DEPTH):
        if not level:
            break
        children = await repository.members_merged_into(session, level)
        level = set()
        for child in children:
            info[child.subject_id] = child
            assert child.merged_into is not None
            root = owner[child.merged_into]
            if child.subject_id not in owner:
                owner[child.subject_id] = root
                members[root].append(child.subject_id)
                level.add(child.subject_id)
    clusters = {
        root: Cluster(
            root=root,
            members=tuple(ids),
            known=bool(info[root].known),
            gpc=any(info[m].gpc and not info[m].known for m in ids),
        )
        for root, ids in members.items()
    }
    return {s: clusters[r] for s, r in roots.items()}


async def cluster_of(session: AsyncSession, subject_id: uuid.UUID) -> Cluster | None:
    return (await clusters_of(session, [subject_id])).get(subject_id)


async def subtree_of(session: AsyncSession, subject_id: uuid.UUID) -> list[Node]:
    """Every profile merged into `subject_id`, directly or through another."""
    found: list[Node] = []
    level = {subject_id}
    for _ in range(MAX_DEPTH):
        if not level:
            break
        children = await repository.members_merged_into(session, level)
        found.extend(children)
        level = {c.subject_id for c in children}
    return found


def _root(info: dict[uuid.UUID, Node], subject_id: uuid.UUID) -> uuid.UUID:
    current = subject_id
    for _ in range(MAX_DEPTH):
        parent = info[current].merged_into
        if parent is None or parent not in info:
            return current
        current = parent
    return current
