"""Who may do what in the profile API: the ONE module that knows how tokens are verified.

Bearer tokens are the auth service's access tokens, verified locally by the shared helper
(`ciam_shared.tokens`, against auth's JWKS). Everything else imports `Principal`, `Kind`,
`Forbidden` and the dependencies from here.

Who before which scopes (the model, with a table of every endpoint: docs/security.md):
- Admin: a client-credentials token with `profile:admin` (full reads, merges and undo,
  export of anyone). A customer's token is never an admin, whatever scopes it carries.
- App (client credentials): `profile:read` (consent-aware reads), `profile:write` (write every
  data kind) or `profile:write:<kind>` (that kind only), `profile:track` (tracking, anonymous
  visitors, identifiers).
- Customer: their own profile only, and only with the customer scope of the action:
  `me:profile:read`, `me:profile:write` (what they told us, and identifiers other than
  devices and cookies), `me:profile:export` (everything, with tracked events).

Every request of an app's token, and of a customer's token issued through a third-party app,
is honoured only while the auth service knows the app (its compacted apps topic, followed by
the SDK's `BrandAppView`): a deleted app stops at once, for reads and writes alike.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from ciam_profile.fields import DataKind
from ciam_profile.parts import PartsDep
from ciam_shared.tokens import Forbidden, Kind, Principal, bearer_principal
from ciam_shared.tokens.access import ScopeMissing
from ciam_shared.tokens.access import require_scope as require_token_scope
from ciam_shared.tokens.apps import check_app
from ciam_shared.tokens.scopes import PROFILE_ADMIN, PROFILE_READ, PROFILE_TRACK, PROFILE_WRITE

READ, WRITE, TRACK, ADMIN = PROFILE_READ, PROFILE_WRITE, PROFILE_TRACK, PROFILE_ADMIN

__all__ = ["ADMIN", "READ", "TRACK", "WRITE", "Forbidden", "Kind", "Principal", "PrincipalDep"]


async def current_principal(request: Request, parts: PartsDep) -> Principal:
    # async: a plain `def` dependency would cost a worker-thread hop on every request.
    principal = await bearer_principal(request, admin_scope=ADMIN)
    # The BrandAppView answers from memory: no I/O on the hot path of every read.
    check_app(parts.apps, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def is_admin(principal: Principal) -> bool:
    return principal.kind is Kind.ADMIN


def is_own(principal: Principal, subject_id: uuid.UUID) -> bool:
    return principal.kind is Kind.CUSTOMER and principal.id == str(subject_id)


def require_scope(principal: Principal, scope: str) -> None:
    if not is_admin(principal):
        require_token_scope(principal, scope)


def require_admin(principal: Principal) -> None:
    if not is_admin(principal):
        raise ScopeMissing(ADMIN, f"This needs an operator's token with the `{ADMIN}` scope.")


def require_app(principal: Principal, scope: str) -> str:
    """An app (or an admin) with `scope`; returns the caller's id for the records."""
    if principal.kind is Kind.CUSTOMER:
        raise Forbidden("Only an app may do this.")
    require_scope(principal, scope)
    return principal.id


def authorize_own_or(
    principal: Principal, subject_id: uuid.UUID, scope: str, *, customer_scope: str
) -> None:
    """A customer acts on their own profile only, with `customer_scope`; apps need `scope`;
    admins may do anything."""
    if principal.kind is Kind.CUSTOMER:
        if not is_own(principal, subject_id):
            raise Forbidden("A customer may only see and change their own profile.")
        require_token_scope(principal, customer_scope)
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
