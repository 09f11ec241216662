"""Assembling a profile (merge rules over its cluster) and reading it as consent allows."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_profile import repository
from ciam_profile.auth import Kind, Principal
from ciam_profile.cache import Document, ProfileCache
from ciam_profile.errors import ProfileNotFound
from ciam_profile.fields import COUNTED, FIELDS, DataKind, MergeRule
from ciam_profile.gate import ConsentGate
from ciam_profile.models import ProfileField
from ciam_profile.service.apps import DeclaredPurposes
from ciam_profile.service.graph import cluster_of
from ciam_profile.service.social_import import IMPORT_SOURCE


@dataclass(frozen=True)
class Reader:
    """What a read needs besides the session."""

    cache: ProfileCache
    gate: ConsentGate
    apps: DeclaredPurposes


async def assemble(session: AsyncSession, subject_id: uuid.UUID) -> Document | None:
    """The merged profile of the subject's cluster, JSON-ready (what the cache holds)."""
    cluster = await cluster_of(session, subject_id)
    if cluster is None:
        return None
    root = await repository.profile_of(session, cluster.root)
    if root is None:  # erased between the two statements (read committed)
        return None
    rows = await repository.fields_of(session, cluster.members)
    fields = merged_fields(rows, cluster.root)
    fields |= derived_fields(await repository.behaviour_of(session, cluster.members))
    return {
        "subject_id": str(cluster.root),
        "known": cluster.known,
        "members": [str(m) for m in cluster.members],
        "registered_at": root.registered_at.isoformat() if root.registered_at else None,
        "created_at": root.created_at.isoformat(),
        "updated_at": root.updated_at.isoformat(),
        "fields": fields,
    }


def merged_fields(rows: Sequence[ProfileField], root: uuid.UUID) -> dict[str, Any]:
    by_name: dict[str, list[ProfileField]] = defaultdict(list)
    for row in rows:
        by_name[row.name].append(row)
    fields: dict[str, Any] = {}
    for name, candidates in by_name.items():
        spec = FIELDS.get(name)
        if spec is None:
            continue  # a field this version no longer knows
        latest = max(candidates, key=lambda r: r.updated_at)
        own = [r for r in candidates if r.subject_id == root]
        if spec.rule is MergeRule.SURVIVOR and own:
            chosen, value = own[0], own[0].value
        elif spec.rule is MergeRule.UNION:
            ordered = own + sorted(
                (r for r in candidates if r.subject_id != root), key=lambda r: r.updated_at
            )
            value = list(dict.fromkeys(v for r in ordered for v in r.value))
            chosen = latest
        else:
            chosen, value = latest, latest.value
        fields[name] = {
            "value": value,
            "kind": spec.kind.value,
            "updated_at": chosen.updated_at.isoformat(),
        }
        if chosen.imported_for is not None:
            fields[name]["source"] = IMPORT_SOURCE
    return fields


def derived_fields(behaviour: dict[str, Any]) -> dict[str, Any]:
    counts: dict[str, int] = behaviour["counts"]
    # No last event: none, or an erasure deleted them between the two queries (read committed).
    if not counts or behaviour["last_at"] is None:
        return {}
    kind = DataKind.BEHAVIOURAL.value
    fields = {name: {"value": counts.get(t, 0), "kind": kind} for t, name in COUNTED.items()}
    fields["last_seen_channel"] = {"value": behaviour["last_channel"], "kind": kind}
    fields["last_seen_at"] = {"value": behaviour["last_at"].isoformat(), "kind": kind}
    return fields


async def read_profile(
    sessions: async_sessionmaker[AsyncSession],
    reader: Reader,
    principal: Principal,
    subject_id: uuid.UUID,
) -> tuple[Document, list[str]]:
    """The profile as this caller may see it, and the data kinds shown. The caller is
    authorized already; an app sees the kinds its declared purposes allow, now. A cached
    profile opens no database transaction at all (one Redis round trip)."""
    doc = await reader.cache.read(subject_id)
    if doc is None:
        generation = await reader.cache.generation(subject_id)
        async with sessions() as session, session.begin():
            doc = await assemble(session, subject_id)
        if doc is None:
            raise ProfileNotFound(f"No profile for subject {subject_id}.")
        await reader.cache.store(subject_id, doc, generation)
    return present(reader, principal, doc)


async def read_in(
    session: AsyncSession, reader: Reader, principal: Principal, subject_id: uuid.UUID
) -> tuple[Document, list[str]]:
    """The profile as this caller may see it, read in the session's own transaction (after
    a write in it: its changes are not committed yet, so neither read from nor put in the
    cache)."""
    doc = await assemble(session, subject_id)
    if doc is None:
        raise ProfileNotFound(f"No profile for subject {subject_id}.")
    return present(reader, principal, doc)


def present(reader: Reader, principal: Principal, doc: Document) -> tuple[Document, list[str]]:
    """Customers and admins see everything; an app the fields of the data kinds its
    declared purposes are allowed now, by the consents of everyone in the cluster."""
    if principal.kind is not Kind.APP:
        return doc, [k.value for k in DataKind]
    members = [uuid.UUID(m) for m in doc["members"]]
    purposes = reader.apps.purposes_of(principal.id)
    kinds = reader.gate.allowed_kinds(members, purposes, brand=principal.brand)
    allowed = {k.value for k in kinds}
    visible = {n: f for n, f in doc["fields"].items() if f["kind"] in allowed}
    return doc | {"fields": visible}, sorted(allowed)
