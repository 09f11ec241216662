"""The email-code sign-in pages: ask for a code, type it, or follow the link (a GET shows a
button that POSTs: mail scanners open links, and a GET changes nothing)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import RedirectResponse

from ciam_auth.errors import CsrfFailed, InvalidCredentials, InvalidToken, Throttled
from ciam_auth.i18n import text
from ciam_auth.pages import FormStr, OptionalForm, failure_message, render
from ciam_auth.parts import AuthDep, CurrentSessionDep
from ciam_auth.passkeys.service import email_code
from ciam_auth.sessions.store import set_session_cookie
from ciam_auth.transactions import SessionDep, refusal_as_error
from ciam_auth.web import check_csrf, client_of, locale_of, safe_return_to, set_device_cookie

router = APIRouter(tags=["pages"], include_in_schema=False)
FAILURES = (CsrfFailed, InvalidToken, Throttled, InvalidCredentials)


@router.get("/login/email-code")
async def ask_page(request: Request, ctx: AuthDep, return_to: str | None = None) -> Response:
    return render(
        request,
        ctx,
        "email_code.html",
        locale=locale_of(request),
        title_key="email_code_title",
        return_to=safe_return_to(return_to),
    )


@router.post("/login/email-code")
async def ask(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    email: FormStr = "",
    csrf: OptionalForm = None,
    return_to: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    locale, target = locale_of(request, ui_locales), safe_return_to(return_to)
    try:
        check_csrf(request, csrf)
        await email_code.request_code(
            session, ctx, email=email, locale=locale, client=client_of(request, "web")
        )
    except (CsrfFailed, Throttled) as exc:
        message, code = failure_message(locale, exc)
        return render(
            request,
            ctx,
            "email_code.html",
            locale=locale,
            title_key="email_code_title",
            status_code=code,
            error=message,
            return_to=target,
        )
    minutes = max(1, ctx.settings.email_code_ttl_seconds // 60)
    return render(
        request,
        ctx,
        "email_code_enter.html",
        locale=locale,
        title_key="email_code_title",
        notice=text(locale, "email_code_sent", minutes=minutes),
        email=email,
        return_to=target,
    )


@router.post("/login/email-code/verify")
async def verify(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    email: FormStr = "",
    code: FormStr = "",
    csrf: OptionalForm = None,
    return_to: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    locale, target = locale_of(request, ui_locales), safe_return_to(return_to)
    try:
        check_csrf(request, csrf)
        async with refusal_as_error():
            result = await email_code.sign_in(
                session, ctx, client_of(request, "web"), email=email, code=code, current=current
            )
    except FAILURES as exc:
        message, status_code = failure_message(locale, exc)
        if isinstance(exc, InvalidToken):
            message = text(locale, "email_code_failed")
        return render(
            request,
            ctx,
            "email_code_enter.html",
            locale=locale,
            title_key="email_code_title",
            status_code=status_code,
            error=message,
            email=email,
            return_to=target,
        )
    return _signed_in(request, ctx, result, target, locale)


@router.get("/login/email-code/confirm")
async def link_page(request: Request, ctx: AuthDep, token: str = "") -> Response:
    return render(
        request,
        ctx,
        "email_code_confirm.html",
        locale=locale_of(request),
        title_key="email_code_title",
        token=token[:200],
    )


@router.post("/login/email-code/confirm")
async def link(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    token: FormStr = "",
    csrf: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    locale = locale_of(request, ui_locales)
    try:
        check_csrf(request, csrf)
        async with refusal_as_error():
            result = await email_code.sign_in(
                session, ctx, client_of(request, "web"), token=token, current=current
            )
    except FAILURES as exc:
        message, status_code = failure_message(locale, exc)
        if isinstance(exc, InvalidToken):
            message = text(locale, "email_code_failed")
        return render(
            request,
            ctx,
            "email_code.html",
            locale=locale,
            title_key="email_code_title",
            status_code=status_code,
            error=message,
            return_to="/account",
        )
    return _signed_in(request, ctx, result, "/account", locale)


def _signed_in(
    request: Request, ctx: AuthDep, result: email_code.CodeSignIn, target: str, locale: str
) -> Response:
    if result.session is None:  # TOTP follows, on the usual second-step page
        return render(
            request,
            ctx,
            "login_totp.html",
            locale=locale,
            title_key="totp_title",
            mfa_token=result.mfa_token,
            return_to=target,
        )
    secure = ctx.settings.secure_cookies
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    if result.session.secret:
        set_session_cookie(
            response, result.session, secure=secure, max_age=ctx.settings.session_absolute_seconds
        )
    set_device_cookie(response, result.device_token, secure=secure)
    return response
