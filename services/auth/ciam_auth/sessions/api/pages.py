"""The sign-in pages: the password form, the TOTP step, signing out. Plain HTML forms, no
JavaScript, Polish and English. A failed sign-in re-renders the form with one generic message,
whatever went wrong."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import RedirectResponse

from ciam_auth.context import AuthContext
from ciam_auth.embedding import (
    LANDING,
    embedded_session,
    embedding_of,
    page_brand,
    set_embedded_session,
)
from ciam_auth.errors import (
    CsrfFailed,
    EmailNotVerified,
    InvalidCredentials,
    InvalidToken,
    Throttled,
)
from ciam_auth.i18n import text
from ciam_auth.pages import FormStr, OptionalForm, failure_message, render
from ciam_auth.parts import AuthDep, CurrentSessionDep
from ciam_auth.sessions import service as signin
from ciam_auth.sessions.store import Session, clear_session_cookie, set_session_cookie
from ciam_auth.theming import PageBrand, keep
from ciam_auth.transactions import SessionDep
from ciam_auth.web import (
    check_csrf,
    client_of,
    csrf_cookie_missing,
    locale_of,
    safe_return_to,
    set_device_cookie,
)

router = APIRouter(tags=["pages"], include_in_schema=False)
# `?client_id=` of a brand app that registered origins: the sign-in may be framed by them and,
# in a frame, starts a session for that frame (embedding.py).
FOR_APP = [Depends(page_brand)]


def social_buttons(ctx: AuthContext) -> list[tuple[str, str]]:
    """(id, label) of the enabled upstream providers, shown as "Sign in with ..." links."""
    return [(p.id, p.name) for p in ctx.settings.social_providers if p.enabled]


@router.get("/login", dependencies=FOR_APP)
async def login_page(
    request: Request,
    ctx: AuthDep,
    current: CurrentSessionDep,
    return_to: str | None = None,
    prompt: str | None = None,
    acr: str | None = None,
) -> Response:
    """`prompt=login` (OIDC) shows the form even to a signed-in customer: re-authentication."""
    target = safe_return_to(return_to)
    if embedding_of(request) is not None:
        current = await embedded_session(request) or current
    if current is not None and prompt != "login":
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    # An app asked for phishing-resistant authentication (OIDC acr_values=phr): a passkey only.
    return render(
        request,
        ctx,
        "login_passkey.html" if acr == "phr" else "login.html",
        social=social_buttons(ctx),
        locale=locale_of(request),
        title_key="login_title",
        return_to=target,
        fresh=prompt == "login",
    )


@router.post("/login", dependencies=FOR_APP)
async def login(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    email: FormStr = "",
    password: FormStr = "",
    csrf: OptionalForm = None,
    return_to: OptionalForm = None,
    ui_locales: OptionalForm = None,
    prompt: OptionalForm = None,
) -> Response:
    locale, target = locale_of(request, ui_locales), safe_return_to(return_to)
    embed = embedding_of(request)
    if embed is not None:
        if csrf_cookie_missing(request):
            return blocked(request, ctx, locale, target)
        current = await embedded_session(request)
    try:
        check_csrf(request, csrf)
        result = await signin.sign_in(
            session,
            ctx,
            email=email,
            password=password,
            client=_client(request, embed),
            current=current,
        )
    except (InvalidCredentials, Throttled, CsrfFailed, EmailNotVerified) as exc:
        message, code = failure_message(locale, exc)
        return render(
            request,
            ctx,
            "login.html",
            social=social_buttons(ctx),
            locale=locale,
            title_key="login_title",
            status_code=code,
            error=message,
            email=email,
            return_to=target,
            fresh=prompt == "login",
        )
    if result.session is None:
        return render(
            request,
            ctx,
            "login_totp.html",
            locale=locale,
            title_key="totp_title",
            mfa_token=result.mfa_token,
            return_to=target,
        )
    return _signed_in(request, ctx, result, target, embed)


@router.post("/login/totp", dependencies=FOR_APP)
async def login_totp(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    mfa_token: FormStr = "",
    code: OptionalForm = None,
    recovery_code: OptionalForm = None,
    csrf: OptionalForm = None,
    return_to: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    locale, target = locale_of(request, ui_locales), safe_return_to(return_to)
    embed = embedding_of(request)
    if embed is not None:
        if csrf_cookie_missing(request):
            return blocked(request, ctx, locale, target)
        current = await embedded_session(request)
    try:
        check_csrf(request, csrf)
        result = await signin.complete_second_step(
            session,
            ctx,
            mfa_token=mfa_token,
            code=code or None,
            recovery_code=recovery_code or None,
            client=_client(request, embed),
            current=current,
        )
    except InvalidToken:  # the pending sign-in expired or was ended: start again
        return render(
            request,
            ctx,
            "login.html",
            social=social_buttons(ctx),
            locale=locale,
            title_key="login_title",
            status_code=401,
            error=text(locale, "login_failed"),
            return_to=target,
        )
    except (InvalidCredentials, Throttled, CsrfFailed) as exc:
        message, status_code = failure_message(locale, exc)
        if isinstance(exc, InvalidCredentials):
            message = text(locale, "totp_failed")
        return render(
            request,
            ctx,
            "login_totp.html",
            locale=locale,
            title_key="totp_title",
            status_code=status_code,
            error=message,
            mfa_token=mfa_token,
            return_to=target,
        )
    return _signed_in(request, ctx, result, target, embed)


def _client(request: Request, embed: PageBrand | None) -> signin.Client:
    client = client_of(request, "web")
    return replace(client, embed=embed.client_id) if embed is not None else client


def _signed_in(
    request: Request,
    ctx: AuthContext,
    result: signin.SignInResult,
    target: str,
    embed: PageBrand | None = None,
) -> Response:
    assert result.session is not None
    if embed is not None:
        return _signed_in_framed(request, ctx, result.session, target)
    secure = ctx.settings.secure_cookies
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    if result.session.secret:  # a new session; a re-authenticated one keeps its cookie
        set_session_cookie(
            response, result.session, secure=secure, max_age=ctx.settings.session_absolute_seconds
        )
    set_device_cookie(response, result.device_token, secure=secure)
    return response


def _signed_in_framed(
    request: Request, ctx: AuthContext, session: Session, target: str
) -> Response:
    """A sign-in in a brand app's frame: the session goes into the partitioned cookie (the
    top-level cookie and the device cookie stay as they are), and the frame lands on a page
    that checks the browser kept it."""
    landing = keep(request, f"{LANDING}?{urlencode({'return_to': target})}")
    response = RedirectResponse(landing, status_code=status.HTTP_303_SEE_OTHER)
    if session.secret:  # a new session; a re-authenticated one keeps its cookie
        set_embedded_session(response, session, max_age=ctx.settings.session_absolute_seconds)
    return response


@router.get(LANDING, dependencies=FOR_APP)
async def landed_in_frame(request: Request, ctx: AuthDep, return_to: str | None = None) -> Response:
    """After a sign-in in a frame: on to the page if the browser sent the partitioned cookie
    back, else the browser keeps no cookie in this frame, and signing in again would loop."""
    target = safe_return_to(return_to)
    if embedding_of(request) is None or await embedded_session(request) is not None:
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    return blocked(request, ctx, locale_of(request), target)


def blocked(request: Request, ctx: AuthContext, locale: str, target: str) -> Response:
    """The browser keeps no cookie in this frame, not even a partitioned one: the way out is
    the same page in a new window (top level, where the ordinary session works)."""
    return render(
        request,
        ctx,
        "embed_blocked.html",
        locale=locale,
        title_key="embed_blocked_title",
        status_code=403,
        open_url=target,
    )


@router.post("/logout")
async def logout(
    request: Request,
    ctx: AuthDep,
    current: CurrentSessionDep,
    csrf: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    check_csrf(request, csrf)
    if current is not None:
        await ctx.sessions.revoke(current.account_id, current.id)
    target = f"/signed-out?ui_locales={locale_of(request, ui_locales)}"
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    clear_session_cookie(response, secure=ctx.settings.secure_cookies)
    return response


@router.get("/signed-out")
async def signed_out_page(request: Request, ctx: AuthDep) -> Response:
    """Says what happened (this device only), instead of a bare sign-in form."""
    return render(
        request,
        ctx,
        "goodbye.html",
        locale=locale_of(request),
        title_key="signed_out_title",
        what="signed_out",
    )
