"""Refresh token rotation in one SQL statement: spend the presented token, insert its successor.

The hot path of the token endpoint (a refresh is the most frequent grant after client
credentials). One statement, run outside a transaction block (it is atomic on its own), does
what used to take a transaction and four statements (UPDATE, the account's SELECT, INSERT,
COMMIT):

- `spent`: a conditional UPDATE marks the token used, only if it is live (not used, not
  revoked, not expired), was issued to the presenting client, covers the requested scope and
  its account still exists. Under concurrency PostgreSQL re-checks `used_at IS NULL` on the
  row a racing UPDATE committed, so of twenty racing refreshes exactly one gets a row back;
- `next`: inserts the successor from what `spent` returned (same family, session, original
  scope and auth_time; a fresh expiry). It inserts nothing when `spent` matched nothing.

The account's email comes back with the row, so the ID token's claims need no second read.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ARRAY, Table, Text, bindparam, func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_auth.models import Account, RefreshToken
from ciam_auth.oidc.repository.tokens import refresh_hash
from ciam_shared.db import TimestampTZ, utcnow

# Bind names differ from every column name: a Core UPDATE turns a parameter named after a
# column of its table into a SET of that column.
_rt = cast(Table, RefreshToken.__table__)
_accounts = cast(Table, Account.__table__)
_now = bindparam("now", type_=TimestampTZ())
# The scopes the client asks for (empty: all of the token's); `<@` is "is contained by".
_narrow = bindparam("narrow", type_=ARRAY(Text))

_spent = (
    update(_rt)
    .where(
        _rt.c.token_hash == bindparam("old_hash"),
        _rt.c.client_id == bindparam("presenter"),
        _rt.c.used_at.is_(None),
        _rt.c.revoked_at.is_(None),
        _rt.c.expires_at > _now,
        _narrow.op("<@")(func.string_to_array(_rt.c.scope, literal_column("' '"))),
        _rt.c.account_id == _accounts.c.id,
    )
    .values(used_at=_now)
    .returning(
        _rt.c.family_id,
        _rt.c.client_id,
        _rt.c.account_id,
        _rt.c.session_id,
        _rt.c.scope,
        _rt.c.auth_time,
        _accounts.c.email,
        _accounts.c.email_verified_at,
    )
    .cte("spent")
)
_successor = {
    "token_hash": bindparam("new_hash", type_=Text),
    "family_id": _spent.c.family_id,
    "client_id": _spent.c.client_id,
    "account_id": _spent.c.account_id,
    "session_id": _spent.c.session_id,
    "scope": _spent.c.scope,
    "auth_time": _spent.c.auth_time,
    "issued_at": _now,
    "expires_at": bindparam("new_expiry", type_=TimestampTZ()),
}
_next = insert(_rt).from_select(list(_successor), select(*_successor.values())).cte("next")
ROTATE = select(
    _spent.c.family_id,
    _spent.c.account_id,
    _spent.c.session_id,
    _spent.c.scope,
    _spent.c.auth_time,
    _spent.c.email,
    _spent.c.email_verified_at,
).add_cte(_next)


@dataclass(frozen=True)
class Rotated:
    """The spent token's grant, its account's email, and the successor refresh token."""

    refresh_token: str
    family_id: uuid.UUID
    account_id: uuid.UUID
    session_id: str | None
    scope: str  # the grant's scope, which the successor keeps even when a refresh narrows
    auth_time: datetime
    email: str | None
    email_verified: bool


async def rotate(
    autocommit: AsyncEngine, token: str, *, client_id: str, narrow: list[str], ttl_s: int
) -> Rotated | None:
    """Spend `token` and issue its successor, committed at once; None when the token is not
    live for this client and scope (the caller finds out why). `autocommit` is an engine whose
    connections run each statement in its own transaction (no BEGIN/COMMIT round trips)."""
    successor = "rt_" + secrets.token_urlsafe(32)
    now = utcnow()
    params = {
        "old_hash": refresh_hash(token),
        "presenter": client_id,
        "now": now,
        "narrow": narrow,
        "new_hash": refresh_hash(successor),
        "new_expiry": now + timedelta(seconds=ttl_s),
    }
    async with autocommit.connect() as connection:
        row = (await connection.execute(ROTATE, params)).one_or_none()
    if row is None:
        return None
    return Rotated(
        successor,
        row.family_id,
        row.account_id,
        row.session_id,
        row.scope,
        row.auth_time,
        row.email,
        row.email_verified_at is not None,
    )
