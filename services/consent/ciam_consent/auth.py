"""Who may do what in the consent API. Authentication is the shared verification of the auth
service's access tokens (`ciam_shared.tokens`); every endpoint that touches a subject goes
through `authorize_subject`, every change through `change_brand`. The model, with a table of
every endpoint: docs/security.md.

- Admin (client credentials with `consent:admin`): any subject, any purpose and brand.
- App (client credentials): `consent:read` / `consent:write`, its declared purposes only; an app
  bound to a brand writes its brand only.
- Customer: their own subject only, and only within the customer scopes the token carries
  (`me:consents:read`, `me:consents:write`). Through a third-party app (any client but auth's
  own pages) also only the app's declared purposes, and changes within the app's brand only.

Brand apps are held to their registration at the auth service, followed from the compacted
apps topic (`BrandAppView`): a deleted app's unexpired token, and a customer's token issued
through it, is refused (403 `app-unknown`).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from ciam_consent.parts import PartsDep
from ciam_shared.tokens import Forbidden, Kind, Principal, bearer_principal
from ciam_shared.tokens.access import require_scope
from ciam_shared.tokens.apps import AppDirectory, check_app, registered_app
from ciam_shared.tokens.scopes import (
    CONSENT_ADMIN,
    CONSENT_READ,
    CONSENT_WRITE,
    MY_CONSENTS_READ,
    MY_CONSENTS_WRITE,
)

READ, WRITE, ADMIN = CONSENT_READ, CONSENT_WRITE, CONSENT_ADMIN
# What a customer's token needs for what an app's token needs `consent:read` / `:write` for.
CUSTOMER_SCOPE = {READ: MY_CONSENTS_READ, WRITE: MY_CONSENTS_WRITE}


async def app_directory(parts: PartsDep) -> AppDirectory:
    return parts.apps


async def current_principal(request: Request, parts: PartsDep) -> Principal:
    principal = await bearer_principal(request, admin_scope=ADMIN)
    check_app(parts.apps, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
AppsDep = Annotated[AppDirectory, Depends(app_directory)]


class BrandNotAllowed(Forbidden):
    type_slug = "brand-not-allowed"
    title = "Brand not allowed"


def authorize_subject(principal: Principal, subject_id: uuid.UUID, *, scope: str) -> None:
    """A customer acts on their own consents only, with the customer scope of `scope`; apps
    need `scope`; admins may do anything."""
    if principal.kind is Kind.ADMIN:
        return
    if principal.kind is Kind.CUSTOMER:
        if principal.id != str(subject_id):
            raise Forbidden("A customer may only see and change their own consents.")
        require_scope(principal, CUSTOMER_SCOPE[scope])
        return
    require_scope(principal, scope)


def change_brand(
    apps: AppDirectory,
    principal: Principal,
    requested: str | None,
    *,
    given: bool,
    item: int | None = None,
) -> str | None:
    """The brand a change is recorded for (None: every brand), or Forbidden.

    An app bound to a brand records for that brand (as before: omitted or null means its
    brand). A third-party app acting for a customer records within its registered brand only:
    omitted means that brand, any other brand or an explicit null (every brand) is refused,
    and an app of no brand may not change a customer's consents at all. Admins and auth's own
    pages record what they ask for. In a batch, a refusal names the change's `item` index."""
    where = {} if item is None else {"item": item}
    if principal.kind is Kind.APP:
        brand = requested or principal.brand
        if principal.brand is not None and brand != principal.brand:
            raise BrandNotAllowed(
                f"This app may only record consents for brand `{principal.brand}`.",
                brand=brand,
                **where,
            )
        return brand
    if (client_id := principal.delegate) is None:
        return requested
    own = registered_app(apps, client_id).brand
    if own is None:
        raise BrandNotAllowed(
            f"App `{client_id}` belongs to no brand: it may not change a customer's consents.",
            **where,
        )
    if not given:
        return own
    if requested != own:
        asked = f"brand `{requested}`" if requested is not None else "every brand (brand null)"
        raise BrandNotAllowed(
            f"App `{client_id}` may change consents for brand `{own}` only, not for {asked}.",
            brand=requested,
            **where,
        )
    return own


def require_admin(principal: Principal) -> None:
    if principal.kind is not Kind.ADMIN:
        raise Forbidden(f"This needs an operator's token with the `{ADMIN}` scope.")
