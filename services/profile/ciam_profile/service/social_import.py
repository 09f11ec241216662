"""The social import: profile fields filled from the customer's social profile, only those the
customer allowed (consent `social-import`), and removed again when they withdraw it.

Precedence: a value written through the API (by the customer, an app or an admin) always
wins. The import fills a field that is empty or that holds an imported value; it never
overwrites a value someone wrote, and a later write through the API makes the value the
writer's (`imported_for` cleared), so a withdrawal no longer removes it. Each imported value
is marked with the subject whose import wrote it (`profile_fields.imported_for`): a withdrawal
or an unlinking removes exactly those.

Values come from the auth service's import API as `{field: {claim: value}}` (OIDC claims);
each is mapped to the profile field and validated like a write through the API. A value that
does not fit (a birthdate without a year, a name of 500 characters) is skipped, not stored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile import repository
from ciam_profile.cache import ProfileCache
from ciam_profile.fields import FIELDS
from ciam_profile.service import SOURCE
from ciam_profile.service.graph import cluster_of
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, ProfileUpdated
from ciam_shared.outbox import stage

log = logging.getLogger(__name__)

# `source` of an imported field in a read, and `updated_by` of its row and of ProfileUpdated.
IMPORT_SOURCE = "social-import"
# The fields the auth service may offer for import (its FIELD_CLAIMS): all are profile fields.
IMPORTABLE = frozenset({"name", "email", "picture", "locale", "birthday"})


@cache
def _adapter(field: str) -> TypeAdapter[Any]:
    return TypeAdapter(FIELDS[field].type)


def _raw_value(field: str, claims: Mapping[str, Any]) -> Any:
    if field == "name":
        if claims.get("name"):
            return claims["name"]
        parts = [claims.get("given_name"), claims.get("family_name")]
        return " ".join(p for p in parts if isinstance(p, str) and p) or None
    if field == "birthday":
        return claims.get("birthdate")  # "0000-04-01" (no year) does not parse: skipped
    if field == "locale":
        value = claims.get("locale")
        return value.replace("_", "-") if isinstance(value, str) else None  # "fr_CA"
    return claims.get(field)


def profile_values(fetched: Mapping[str, Any], names: Collection[str]) -> dict[str, Any]:
    """The JSON values of the fields named (in the event) AND in the fetched import (allowed
    now), each validated as the field's type; a field that does not fit is left out."""
    values: dict[str, Any] = {}
    for field in sorted(set(names) & IMPORTABLE):
        claims = fetched.get(field)
        if not isinstance(claims, Mapping):
            continue
        raw = _raw_value(field, claims)
        if raw is None:
            continue
        adapter = _adapter(field)
        try:
            values[field] = adapter.dump_python(adapter.validate_python(raw), mode="json")
        except ValidationError:
            # The field name only: the value is personal data.
            log.warning("an imported value does not fit the profile field", extra={"field": field})
    return values


async def import_fields(
    session: AsyncSession,
    cache: ProfileCache,
    subject_id: uuid.UUID,
    values: dict[str, Any],
    *,
    topic_prefix: str,
) -> list[str]:
    """Write the imported values into the subject's profile (on a merged profile, the
    survivor's row, as a write through the API does), except over a value written through
    the API. Returns the names written; nothing written, nothing announced."""
    if not values:
        return []
    cluster = await cluster_of(session, subject_id)
    if cluster is None:
        log.info("no profile to import into (erased?)", extra={"subject_id": str(subject_id)})
        return []
    profile = await repository.profile_for_update(session, cluster.root)
    if profile is None:  # erased between the two statements
        return []
    now = utcnow()
    written = await repository.upsert_imported(
        session,
        [
            {
                "subject_id": cluster.root,
                "name": name,
                "kind": FIELDS[name].kind.value,
                "value": value,
                "updated_by": IMPORT_SOURCE,
                "updated_at": now,
                "imported_for": subject_id,
            }
            for name, value in values.items()
        ],
    )
    if written:
        profile.updated_at = now
        await cache.invalidate(session, cluster.members)
        await _announce(session, cluster.root, written, topic_prefix=topic_prefix)
    return written


async def remove_imported(
    session: AsyncSession,
    cache: ProfileCache,
    subject_id: uuid.UUID,
    names: Collection[str],
    *,
    topic_prefix: str,
) -> list[str]:
    """Remove the values the subject's import wrote for these fields (not a value written
    through the API). Returns the names removed."""
    cluster = await cluster_of(session, subject_id)
    if cluster is None:
        return []  # erased: nothing left to remove
    profile = await repository.profile_for_update(session, cluster.root)
    if profile is None:
        return []
    removed = await repository.delete_imported(session, subject_id, names)
    if removed:
        profile.updated_at = utcnow()
        await cache.invalidate(session, cluster.members)
        await _announce(session, cluster.root, removed, topic_prefix=topic_prefix)
    return removed


async def _announce(
    session: AsyncSession, root: uuid.UUID, names: list[str], *, topic_prefix: str
) -> None:
    event = ProfileUpdated(
        subject_id=root,
        fields=names,
        kinds=sorted({FIELDS[n].kind.value for n in names}),
        updated_by=IMPORT_SOURCE,
        updated_at=utcnow(),
    )
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)
