"""Every query of the profile service."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile.models import (
    Identifier,
    Merge,
    Profile,
    ProfileField,
    TrackedEvent,
    outbox,
)


async def profile_of(session: AsyncSession, subject_id: uuid.UUID) -> Profile | None:
    return await session.get(Profile, subject_id)


async def profile_for_update(session: AsyncSession, subject_id: uuid.UUID) -> Profile | None:
    return await session.get(Profile, subject_id, with_for_update=True)


async def add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.flush()


@dataclass(frozen=True, slots=True)
class Node:
    """A profile as the identity graph sees it."""

    subject_id: uuid.UUID
    known: bool
    gpc: bool
    merged_into: uuid.UUID | None


async def profiles_of(
    session: AsyncSession, subject_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Node]:
    """The graph nodes of the subjects that have a profile (no ORM objects loaded)."""
    if not subject_ids:
        return {}
    p = Profile.__table__.c
    rows = await session.execute(
        select(p.subject_id, p.known, p.gpc, p.merged_into).where(
            p.subject_id.in_(list(subject_ids))
        )
    )
    return {row.subject_id: Node(*row) for row in rows}


async def members_merged_into(session: AsyncSession, roots: Collection[uuid.UUID]) -> list[Node]:
    if not roots:
        return []
    p = Profile.__table__.c
    rows = await session.execute(
        select(p.subject_id, p.known, p.gpc, p.merged_into).where(p.merged_into.in_(list(roots)))
    )
    return [Node(*row) for row in rows]


async def fields_of(
    session: AsyncSession, subject_ids: Collection[uuid.UUID]
) -> Sequence[ProfileField]:
    result = await session.scalars(
        select(ProfileField).where(ProfileField.subject_id.in_(list(subject_ids)))
    )
    return result.all()


async def upsert_fields(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    table = ProfileField.__table__
    insert = _insert(session)
    statement = insert(table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.subject_id, table.c.name],
        set_={
            "kind": statement.excluded.kind,
            "value": statement.excluded.value,
            "updated_by": statement.excluded.updated_by,
            "updated_at": statement.excluded.updated_at,
            # A write through the API makes the value the customer's (or the app's): None.
            "imported_for": statement.excluded.imported_for,
        },
    )
    await session.execute(statement)


async def upsert_imported(session: AsyncSession, rows: list[dict[str, Any]]) -> list[str]:
    """Write imported values where the field is empty or holds an imported value; a value
    written through the API is left alone. Returns the names actually written."""
    if not rows:
        return []
    table = ProfileField.__table__
    statement = _insert(session)(table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.subject_id, table.c.name],
        set_={
            "kind": statement.excluded.kind,
            "value": statement.excluded.value,
            "updated_by": statement.excluded.updated_by,
            "updated_at": statement.excluded.updated_at,
            "imported_for": statement.excluded.imported_for,
        },
        where=table.c.imported_for.is_not(None),
    ).returning(table.c.name)
    return sorted(await session.scalars(statement))


async def delete_imported(
    session: AsyncSession, imported_for: uuid.UUID, names: Collection[str]
) -> list[str]:
    """Delete the values the subject's social import wrote for these fields (wherever the
    identity graph put them); returns the names deleted."""
    if not names:
        return []
    result = await session.scalars(
        delete(ProfileField)
        .where(ProfileField.imported_for == imported_for, ProfileField.name.in_(list(names)))
        .returning(ProfileField.name)
        .execution_options(synchronize_session=False)
    )
    return sorted(set(result.all()))


async def delete_fields(session: AsyncSession, subject_id: uuid.UUID, names: list[str]) -> None:
    await session.execute(
        delete(ProfileField).where(
            ProfileField.subject_id == subject_id, ProfileField.name.in_(names)
        )
    )


async def touch(session: AsyncSession, subject_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(Profile).where(Profile.subject_id == subject_id).values(updated_at=at)
    )


async def identifier(session: AsyncSession, kind: str, value: str) -> Identifier | None:
    return await session.get(Identifier, (kind, value))


async def subjects_of_identifiers(
    session: AsyncSession, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], uuid.UUID]:
    if not pairs:
        return {}
    i = Identifier.__table__.c
    rows = await session.execute(
        select(i.kind, i.value, i.subject_id).where(tuple_(i.kind, i.value).in_(list(pairs)))
    )
    return {(r.kind, r.value): r.subject_id for r in rows}


async def identifiers_of(
    session: AsyncSession, subject_ids: Collection[uuid.UUID]
) -> Sequence[Identifier]:
    result = await session.scalars(
        select(Identifier)
        .where(Identifier.subject_id.in_(list(subject_ids)))
        .order_by(Identifier.linked_at)
    )
    return result.all()


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """An event id seen before is skipped (a client's retry stores once). Executed as
    executemany of one cached statement, which SQLAlchemy sends as batched multi-row
    INSERTs ("insertmanyvalues"): `.values(rows)` would compile a new statement with a bind
    per cell for every batch, which cost more CPU than the database did."""
    if rows:
        statement = _insert(session)(TrackedEvent.__table__).on_conflict_do_nothing()
        await session.execute(statement, rows)


async def behaviour_of(session: AsyncSession, subject_ids: Collection[uuid.UUID]) -> dict[str, Any]:
    """Counts per event type, and the channel and time of the latest event."""
    t = TrackedEvent.__table__.c
    members = list(subject_ids)
    counts = await session.execute(
        select(t.type, func.count()).where(t.subject_id.in_(members)).group_by(t.type)
    )
    latest = (
        await session.execute(
            select(t.channel, t.occurred_at)
            .where(t.subject_id.in_(members))
            .order_by(t.occurred_at.desc())
            .limit(1)
        )
    ).first()
    return {
        "counts": {row[0]: int(row[1]) for row in counts},
        "last_channel": latest.channel if latest else None,
        "last_at": latest.occurred_at if latest else None,
    }


async def events_of(
    session: AsyncSession, subject_ids: Collection[uuid.UUID]
) -> Sequence[TrackedEvent]:
    result = await session.scalars(
        select(TrackedEvent)
        .where(TrackedEvent.subject_id.in_(list(subject_ids)))
        .order_by(TrackedEvent.occurred_at)
    )
    return result.all()


async def merge_of(session: AsyncSession, merge_id: uuid.UUID) -> Merge | None:
    return await session.get(Merge, merge_id, with_for_update=True)


async def merges_of(session: AsyncSession, subject_ids: Collection[uuid.UUID]) -> Sequence[Merge]:
    members = list(subject_ids)
    result = await session.scalars(
        select(Merge)
        .where(Merge.survivor_id.in_(members) | Merge.absorbed_id.in_(members))
        .order_by(Merge.merged_at)
    )
    return result.all()


async def erase(session: AsyncSession, subject_ids: Collection[uuid.UUID]) -> None:
    """Delete every row about the subjects: events, identifiers and fields go with the
    profile rows (ON DELETE CASCADE; deleted explicitly too, which costs little), merges,
    and the outbox rows keyed by them (sent or not: their ids are all they carry)."""
    members = list(subject_ids)
    if not members:
        return
    keys = [str(s) for s in members]
    for model in (TrackedEvent, Identifier, ProfileField):
        await session.execute(delete(model).where(model.subject_id.in_(members)))
    await session.execute(
        delete(Merge).where(Merge.survivor_id.in_(members) | Merge.absorbed_id.in_(members))
    )
    await session.execute(delete(Profile).where(Profile.subject_id.in_(members)))
    await session.execute(delete(outbox).where(outbox.c.key.in_(keys)))


async def detach(session: AsyncSession, subject_ids: Collection[uuid.UUID]) -> None:
    """Known profiles merged into an erased one stand alone again."""
    if subject_ids:
        await session.execute(
            update(Profile)
            .where(Profile.subject_id.in_(list(subject_ids)))
            .values(merged_into=None)
        )


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert
