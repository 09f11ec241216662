"""Who may do what in the consent API. Authentication is the shared verification of the auth
service's access tokens (`ciam_shared.tokens`); every endpoint that touches a subject goes
through `authorize_subject`.

Scopes: `consent:read`, `consent:write`, `consent:admin`. A customer acts on their own
subject only, whatever the scopes; an app bound to a brand writes its brand only.

Brand apps (client-credentials tokens) are also held to their registration at the auth service,
followed from the compacted apps topic (`BrandAppView`): a deleted app's unexpired token is
refused (403 `app-unknown`), and an app records and reads only the purposes it declared.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from ciam_shared.tokens import Forbidden, Kind, Principal, bearer_principal
from ciam_shared.tokens.apps import AppDirectory, check_app

READ, WRITE, ADMIN = "consent:read", "consent:write", "consent:admin"


APPS = "apps"  # the service's BrandAppView, in runtime.extras


def app_directory(request: Request) -> AppDirectory:
    apps: AppDirectory = request.app.state.runtime.extras[APPS]
    return apps


async def current_principal(request: Request) -> Principal:
    principal = await bearer_principal(request, admin_scope=ADMIN)
    check_app(app_directory(request), principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
AppsDep = Annotated[AppDirectory, Depends(app_directory)]


def authorize_subject(principal: Principal, subject_id: uuid.UUID, *, scope: str) -> None:
    """A customer acts on their own consents only; apps and admins need the scope."""
    if principal.kind is Kind.CUSTOMER:
        if principal.id != str(subject_id):
            raise Forbidden("A customer may only see and change their own consents.")
        return
    if scope not in principal.scopes and ADMIN not in principal.scopes:
        raise Forbidden(f"This needs the `{scope}` scope.")


def authorize_brand(principal: Principal, brand: str | None) -> None:
    """An app bound to a brand writes records of its own brand only."""
    if principal.kind is Kind.APP and principal.brand is not None and brand != principal.brand:
        raise Forbidden(f"This app may only record consents for brand `{principal.brand}`.")


def require_admin(principal: Principal) -> None:
    if ADMIN not in principal.scopes:
        raise Forbidden("This needs the `consent:admin` scope.")
