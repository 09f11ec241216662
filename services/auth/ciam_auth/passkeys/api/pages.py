"""The passkey pages: the enrolment offer after a sign-in, and the account page's rename and
remove forms (the list itself is part of the account page: templates/passkeys_section.html).
Creating a passkey needs the browser (passkeys.js); renaming and removing are plain forms."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import RedirectResponse

from ciam_auth.accounts.api.account_page import account_view
from ciam_auth.errors import CsrfFailed
from ciam_auth.i18n import text
from ciam_auth.pages import FormStr, OptionalForm, failure_message, render
from ciam_auth.parts import AuthDep, CurrentSessionDep
from ciam_auth.passkeys import repository
from ciam_auth.passkeys.errors import LastWayIn, PasskeyNotFound
from ciam_auth.passkeys.service import manage
from ciam_auth.transactions import SessionDep
from ciam_auth.web import check_csrf, locale_of, safe_return_to

router = APIRouter(tags=["pages"], include_in_schema=False)
# Set once the offer was shown in this browser: it is made once, never again (unobtrusive).
OFFERED_COOKIE = "ciam_passkey_offered"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/passkeys/offer")
async def offer(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    return_to: str | None = None,
) -> Response:
    """After a password (or social) sign-in on a browser that can make passkeys: one offer to
    create one. Skipped when the account has a passkey or this browser saw the offer."""
    target = safe_return_to(return_to)
    if current is None or request.cookies.get(OFFERED_COOKIE):
        return _see_other(target)
    if await repository.count_of_account(session, current.account_id) > 0:
        return _see_other(target)
    response = render(
        request,
        ctx,
        "passkey_offer.html",
        locale=locale_of(request),
        title_key="passkey_offer_title",
        return_to=target,
    )
    response.set_cookie(
        OFFERED_COOKIE,
        "1",
        max_age=365 * 24 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.settings.secure_cookies,
    )
    return response


@router.get("/register/passkey")
async def register_with_passkey(request: Request, ctx: AuthDep) -> Response:
    """An account with a passkey only (no password): the address, then the passkey (script)."""
    return render(
        request,
        ctx,
        "register_passkey.html",
        locale=locale_of(request),
        title_key="passkey_register_title",
    )


@router.post("/account/passkeys/{passkey_id}/rename")
async def rename(
    passkey_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    name: FormStr = "",
    csrf: OptionalForm = None,
) -> Response:
    if current is None:
        return _see_other("/login?return_to=/account")
    locale = locale_of(request)
    try:
        check_csrf(request, csrf)
        await manage.rename(session, current.account_id, passkey_id, name)
    except (CsrfFailed, PasskeyNotFound) as exc:
        message, code = failure_message(locale, exc)
        return await account_view(request, session, ctx, current, status_code=code, error=message)
    return _see_other("/account?done=passkey-renamed")


@router.post("/account/passkeys/{passkey_id}/remove")
async def remove(
    passkey_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    csrf: OptionalForm = None,
) -> Response:
    if current is None:
        return _see_other("/login?return_to=/account")
    locale = locale_of(request)
    try:
        check_csrf(request, csrf)
        await manage.remove(session, ctx, current.account_id, passkey_id, current)
    except LastWayIn:
        return await account_view(
            request, session, ctx, current, status_code=409, error=text(locale, "passkey_last")
        )
    except (CsrfFailed, PasskeyNotFound) as exc:
        message, code = failure_message(locale, exc)
        return await account_view(request, session, ctx, current, status_code=code, error=message)
    return _see_other("/account?done=passkey-removed")
