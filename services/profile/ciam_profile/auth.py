"""Who may do what in the profile API: the ONE module that knows how tokens are verified.

Bearer tokens are the auth service's access tokens, verified locally by the shared helper
(`ciam_shared.tokens`, against auth's JWKS). Everything else imports `Principal`, `Kind`,
`Forbidden` and the dependencies from here.

Scopes: `profile:read` (consent-aware reads), `profile:write` (write every data kind) or
`profile:write:<kind>` (that kind only), `profile:track` (tracking, anonymous visitors,
identifiers), `profile:admin` (full reads, merges and undo, app registrations, export).
A customer reads, edits and exports their own profile whatever the scopes.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from ciam_profile.fields import DataKind
from ciam_shared.tokens import Forbidden, Kind, Principal, bearer_principal

READ, WRITE, TRACK, ADMIN = "profile:read", "profile:write", "profile:track", "profile:admin"

__all__ = ["ADMIN", "READ", "TRACK", "WRITE", "Forbidden", "Kind", "Principal", "PrincipalDep"]


async def current_principal(request: Request) -> Principal:
    # async: a plain `def` dependency would cost a worker-thread hop on every request.
    return await bearer_principal(request, admin_scope=ADMIN)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def is_admin(principal: Principal) -> bool:
    return principal.kind is Kind.ADMIN or ADMIN in principal.scopes


def is_own(principal: Principal, subject_id: uuid.UUID) -> bool:
    return principal.kind is Kind.CUSTOMER and principal.id == str(subject_id)


def require_scope(principal: Principal, scope: str) -> None:
    if not is_admin(principal) and scope not in principal.scopes:
        raise Forbidden(f"This needs the `{scope}` scope.")


def require_admin(principal: Principal) -> None:
    if not is_admin(principal):
        raise Forbidden(f"This needs the `{ADMIN}` scope.")


def require_app(principal: Principal, scope: str) -> str:
    """An app (or an admin) with `scope`; returns the caller's id for the records."""
    if principal.kind is Kind.CUSTOMER:
        raise Forbidden("Only an app may do this.")
    require_scope(principal, scope)
    return principal.id


def authorize_own_or(principal: Principal, subject_id: uuid.UUID, scope: str) -> None:
    """A customer acts on their own profile only; apps and admins need the scope."""
    if principal.kind is Kind.CUSTOMER:
        if not is_own(principal, subject_id):
            raise Forbidden("A customer may only see and change their own profile.")
        return
    require_scope(principal, scope)


def writable_kinds(principal: Principal) -> frozenset[DataKind]:
    """The data kinds the caller may write. Customers: everything they told us (not the
    behavioural data the brand observed). Apps: by scope."""
    if principal.kind is Kind.CUSTOMER:
        return frozenset({DataKind.IDENTITY, DataKind.DESCRIPTIVE, DataKind.ATTITUDINAL})
    if is_admin(principal) or WRITE in principal.scopes:
        return frozenset(DataKind)
    return frozenset(k for k in DataKind if f"{WRITE}:{k.value}" in principal.scopes)
