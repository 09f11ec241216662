"""`/privacy/confirm`: the double opt-in link. Opening it (GET) shows what it confirms and a
button; only the button (POST) records the grant, so a mail scanner that follows links grants
nothing. The link alone says whose and which consent (it is signed): the customer need not be
signed in on the device where they read their mail."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ciam_auth.context import AuthContext
from ciam_auth.errors import CsrfFailed
from ciam_auth.i18n import text
from ciam_auth.oidc.service.first_party import customer_token
from ciam_auth.pages import OptionalForm, render
from ciam_auth.parts import AuthDep, parts_of
from ciam_auth.privacy import optin
from ciam_auth.privacy.api.common import PATH, labeller, ledger
from ciam_auth.privacy.errors import ChangeRefused, ConsentUnavailable
from ciam_auth.privacy.repository import ConsentRepository
from ciam_auth.web import check_csrf, device_label, locale_of
from ciam_shared.tokens.scopes import MY_CONSENTS_READ, MY_CONSENTS_WRITE

router = APIRouter(tags=["pages"], include_in_schema=False)
CONFIRM = f"{PATH}/confirm"


def _page(
    request: Request,
    ctx: AuthContext,
    *,
    state: str,
    token: str = "",
    purpose: str = "",
    status_code: int = 200,
    message: str | None = None,
) -> Response:
    locale = locale_of(request)
    return render(
        request,
        ctx,
        "privacy_confirm.html",
        locale=locale,
        title_key="privacy_optin_title",
        status_code=status_code,
        state=state,
        token=token,
        purpose=purpose,
        error=message if status_code >= 400 else None,
        notice=message if status_code < 400 else None,
    )


def _refused(request: Request, ctx: AuthContext) -> Response:
    message = text(locale_of(request), "privacy_optin_link_refused")
    return _page(request, ctx, state="refused", status_code=400, message=message)


def _purpose_name(request: Request, purpose: str) -> str:
    return labeller(locale_of(request))("privacy_purpose_", purpose)


@router.get(CONFIRM)
async def confirm_page(request: Request, ctx: AuthDep, token: str = "") -> Response:
    secret = ctx.settings.key_encryption_secret.get_secret_value()
    try:
        link = optin.verify(secret, token[:1024])
    except optin.LinkRefused:
        return _refused(request, ctx)
    if await ledger(ctx).was_used(link):
        return _refused(request, ctx)
    return _page(
        request, ctx, state="ask", token=token, purpose=_purpose_name(request, link.purpose)
    )


@router.post(CONFIRM)
async def confirm(
    request: Request, ctx: AuthDep, token: OptionalForm = None, csrf: OptionalForm = None
) -> Response:
    locale = locale_of(request)
    try:
        check_csrf(request, csrf)
    except CsrfFailed:
        return _page(
            request, ctx, state="refused", status_code=403, message=text(locale, "form_expired")
        )
    secret = ctx.settings.key_encryption_secret.get_secret_value()
    try:
        link = optin.verify(secret, token or "")
        await ledger(ctx).use(link)
    except optin.LinkRefused:
        return _refused(request, ctx)
    issuer = parts_of(request).provider.issuer
    access = customer_token(issuer, link.account_id, [MY_CONSENTS_READ, MY_CONSENTS_WRITE])
    device = "double opt-in; " + device_label(request.headers.get("user-agent"))
    # The repository prefixes it with the page's name: the history says "on this privacy
    # page" (the link's confirmation page is one).
    try:
        http = ctx.services_http
        consent = ConsentRepository(ctx.settings.consent_url, http, access)
        await consent.change(
            link.account_id, link.purpose, "grant", device=device, channel=link.channel
        )
    except (ChangeRefused, ConsentUnavailable) as exc:
        await ledger(ctx).release(link)  # nothing was recorded: the link still works
        code = 400 if isinstance(exc, ChangeRefused) else 503
        key = "privacy_refused" if code == 400 else "privacy_unavailable"
        return _page(request, ctx, state="refused", status_code=code, message=text(locale, key))
    await ledger(ctx).clear_pending(link.account_id, link.purpose)
    message = text(locale, "privacy_optin_confirmed")
    return _page(
        request, ctx, state="done", purpose=_purpose_name(request, link.purpose), message=message
    )
