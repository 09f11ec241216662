"""`/privacy`: the customer's consents, one form per purpose (grant or withdraw, 303 back).

Each request signs a one-minute customer token of auth's own pages (`FIRST_PARTY_CLIENT`,
`me:consents:read` to show, `me:consents:write` to change) and calls the consent service with
it. The consent service not answering is a page that says so, never a 500."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import RedirectResponse

from ciam_auth.context import AuthContext
from ciam_auth.errors import CsrfFailed
from ciam_auth.i18n import MESSAGES, text
from ciam_auth.oidc.service.first_party import customer_token
from ciam_auth.pages import OptionalForm, render
from ciam_auth.parts import AuthDep, CurrentSessionDep, parts_of
from ciam_auth.privacy import service
from ciam_auth.privacy.errors import ChangeRefused, ConsentUnavailable
from ciam_auth.privacy.repository import Action, ConsentRepository
from ciam_auth.sessions.store import Session
from ciam_auth.web import check_csrf, device_label, locale_of
from ciam_shared.tokens.scopes import MY_CONSENTS_READ, MY_CONSENTS_WRITE

router = APIRouter(tags=["pages"], include_in_schema=False)
PATH = "/privacy"
# Well under a browser's patience; the page then says the consent service is not available.
TIMEOUT_S = 5.0
PURPOSE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ACTIONS: tuple[Action, ...] = ("grant", "withdraw")
NOTICES = {"grant": "privacy_granted", "withdraw": "privacy_withdrawn"}


def _labeller(locale: str) -> Callable[[str, str], str]:
    """The message `prefix + value`, or the value itself: a data kind, basis or method the
    consent service adds later shows as its code rather than failing the page."""

    def label(prefix: str, value: str) -> str:
        key = prefix + value
        return text(locale, key) if key in MESSAGES["en"] else value

    return label


def _to_login() -> Response:
    return RedirectResponse(f"/login?return_to={PATH}", status_code=status.HTTP_303_SEE_OTHER)


def _repository(
    request: Request,
    ctx: AuthContext,
    current: Session,
    http: httpx.AsyncClient,
    scopes: list[str],
) -> ConsentRepository:
    token = customer_token(
        parts_of(request).provider.issuer, current.account_id, scopes, session_id=current.id
    )
    return ConsentRepository(ctx.settings.consent_url, http, token)


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
    groups: list[service.Group] = []
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
            consent = _repository(request, ctx, current, http, [MY_CONSENTS_READ])
            groups = await service.overview(consent, current.account_id, locale)
    except (ConsentUnavailable, ChangeRefused):
        error, notice, status_code = text(locale, "privacy_unavailable"), None, 503
    return render(
        request,
        ctx,
        "privacy.html",
        locale=locale,
        title_key="privacy_title",
        status_code=status_code,
        main_class="wide",
        groups=groups,
        label=_labeller(locale),
        error=error,
        notice=notice,
    )


@router.get(PATH)
async def privacy_page(
    request: Request, ctx: AuthDep, current: CurrentSessionDep, done: str | None = None
) -> Response:
    if current is None:
        return _to_login()
    notice = text(locale_of(request), NOTICES[done]) if done in NOTICES else None
    return await _page(request, ctx, current, notice=notice)


@router.post(f"{PATH}/consents")
async def change_consent(
    request: Request,
    ctx: AuthDep,
    current: CurrentSessionDep,
    purpose: OptionalForm = None,
    action: OptionalForm = None,
    csrf: OptionalForm = None,
) -> Response:
    if current is None:
        return _to_login()
    locale = locale_of(request)

    async def failed(code: int, key: str) -> Response:
        return await _page(request, ctx, current, status_code=code, error=text(locale, key))

    try:
        check_csrf(request, csrf)
    except CsrfFailed:
        return await failed(403, "form_expired")
    if not purpose or not PURPOSE.match(purpose) or action not in ACTIONS:
        return await failed(400, "privacy_refused")
    chosen: Action = action
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
            consent = _repository(
                request, ctx, current, http, [MY_CONSENTS_READ, MY_CONSENTS_WRITE]
            )
            device = device_label(request.headers.get("user-agent"))
            await service.change(consent, current.account_id, purpose, chosen, device)
    except ChangeRefused:
        return await failed(400, "privacy_refused")
    except ConsentUnavailable:
        return await failed(503, "privacy_unavailable")
    return RedirectResponse(f"{PATH}?done={chosen}", status_code=status.HTTP_303_SEE_OTHER)
