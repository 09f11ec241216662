"""`/privacy/apps`: every app the customer signed in to (a refresh token) or allowed (the
consent screen), with what it may do (its scopes in words) and the purposes it declares.
Revoking one ends its refresh tokens (and the access tokens issued with them) and forgets the
consent-screen grant, so the next sign-in asks again. Auth's own tables (local.py)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import RedirectResponse

from ciam_auth.context import AuthContext
from ciam_auth.embedding import PageSessionDep
from ciam_auth.errors import CsrfFailed
from ciam_auth.i18n import text
from ciam_auth.oidc.api.pages import scope_label
from ciam_auth.pages import OptionalForm, render
from ciam_auth.parts import AuthDep, parts_of
from ciam_auth.privacy import local
from ciam_auth.privacy.api.common import PATH, repository, to_login
from ciam_auth.privacy.errors import ChangeRefused, ConsentUnavailable
from ciam_auth.sessions.store import Session
from ciam_auth.theming import keep
from ciam_auth.transactions import transaction
from ciam_auth.web import check_csrf, locale_of
from ciam_shared.tokens.scopes import MY_CONSENTS_READ

router = APIRouter(tags=["pages"], include_in_schema=False)
APPS = f"{PATH}/apps"
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


async def _page(
    request: Request,
    ctx: AuthContext,
    current: Session,
    *,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    locale = locale_of(request)
    async with transaction(ctx.db) as session:
        found = await local.connected_apps(session, current.account_id)
    names: dict[str, str] = {}
    try:
        http = ctx.services_http
        consent = repository(request, ctx, current, http, [MY_CONSENTS_READ])
        names = {
            p.id: p.names.get(locale) or p.names.get("en") or p.id
            for p in await consent.catalogue()
        }
    except (ConsentUnavailable, ChangeRefused):
        pass  # the purposes show as their ids: the apps themselves are auth's own data
    return render(
        request,
        ctx,
        "privacy_apps.html",
        locale=locale,
        title_key="privacy_apps_title",
        status_code=status_code,
        main_class="wide",
        apps=[
            (
                app,
                [scope_label(locale, s) for s in app.scopes if s != "openid"],
                [names.get(p, p) for p in app.purposes],
            )
            for app in found
        ],
        error=error,
        notice=notice,
    )


@router.get(APPS)
async def apps_page(
    request: Request, ctx: AuthDep, current: PageSessionDep, done: str | None = None
) -> Response:
    if current is None:
        return to_login(APPS, request)
    notice = text(locale_of(request), "privacy_app_revoked") if done == "revoked" else None
    return await _page(request, ctx, current, notice=notice)


@router.post(f"{APPS}/revoke")
async def revoke_app(
    request: Request,
    ctx: AuthDep,
    current: PageSessionDep,
    client_id: OptionalForm = None,
    csrf: OptionalForm = None,
) -> Response:
    if current is None:
        return to_login(APPS, request)
    locale = locale_of(request)
    try:
        check_csrf(request, csrf)
    except CsrfFailed:
        return await _page(
            request, ctx, current, status_code=403, error=text(locale, "form_expired")
        )
    if not client_id or not CLIENT_ID.match(client_id):
        return await _page(
            request, ctx, current, status_code=400, error=text(locale, "privacy_refused")
        )
    async with transaction(ctx.db) as session:
        families = await local.disconnect(session, current.account_id, client_id)
    provider = parts_of(request).provider
    for family in families:
        # After the commit: the access tokens of these families are refused from now on.
        await provider.grants.revoke_family(family, provider.settings.refresh_token_ttl_s)
    return RedirectResponse(
        keep(request, f"{APPS}?done=revoked"), status_code=status.HTTP_303_SEE_OTHER
    )
