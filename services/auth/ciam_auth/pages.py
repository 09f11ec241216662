"""The customer's pages: sign in (with the TOTP step), account and sessions (register, verify
and reset are in pages_accounts.py). Plain HTML forms, no JavaScript, Polish and English.

Every form carries the double-submit CSRF token (web.py). A failed sign-in re-renders the form
with one generic message, whatever went wrong.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth import repository
from ciam_auth.context import AuthContext, AuthDep
from ciam_auth.errors import (
    CsrfFailed,
    EmailNotVerified,
    InvalidCredentials,
    InvalidToken,
    PasswordRefused,
    Throttled,
)
from ciam_auth.i18n import text
from ciam_auth.service import signin
from ciam_auth.sessions import (
    CurrentSessionDep,
    Session,
    clear_session_cookie,
    reauthenticated_until,
    set_session_cookie,
)
from ciam_auth.social import repository as social_repository
from ciam_auth.web import (
    check_csrf,
    client_of,
    csrf_token,
    locale_of,
    safe_return_to,
    set_device_cookie,
)
from ciam_shared.service import SessionDep

router = APIRouter(tags=["pages"], include_in_schema=False)
TEMPLATES = Environment(
    loader=PackageLoader("ciam_auth", "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)

FormStr = Annotated[str, Form(max_length=1024)]
OptionalForm = Annotated[str | None, Form(max_length=1024)]


def render(
    request: Request,
    ctx: AuthContext,
    template: str,
    *,
    locale: str,
    title_key: str,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    response = HTMLResponse("", status_code=status_code)
    token = csrf_token(request, response, secure=ctx.settings.secure_cookies)

    def t(key: str, **kw: object) -> str:
        return text(locale, key, **kw)

    # The other language, keeping the query (return_to...); only on pages a GET can show again.
    other = "en" if locale == "pl" else "pl"
    switch_url: str | None = None
    if request.method == "GET":
        url = request.url.include_query_params(ui_locales=other)
        switch_url = f"{url.path}?{url.query}"
    body = TEMPLATES.get_template(template).render(
        t=t,
        locale=locale,
        title=t(title_key),
        csrf=token,
        other_locale=other,
        switch_url=switch_url,
        **values,
    )
    response.body = response.render(body)
    response.headers["content-length"] = str(len(response.body))
    response.headers["cache-control"] = "no-store"
    # No form-action: browsers apply it to the redirects after a form post too, and the sign-in
    # ends in a redirect to the app's redirect URI (OIDC). frame-ancestors: no clickjacking.
    response.headers["content-security-policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response


def failure_message(locale: str, exc: Exception) -> tuple[str, int]:
    if isinstance(exc, Throttled):
        return text(locale, "throttled", seconds=exc.retry_after), 429
    if isinstance(exc, CsrfFailed):
        return text(locale, "form_expired"), 403
    if isinstance(exc, EmailNotVerified):
        return text(locale, "not_verified"), 403
    if isinstance(exc, PasswordRefused):
        key = "password_common" if exc.extensions.get("reason") == "common" else "password_length"
        return text(locale, key), 422
    if isinstance(exc, InvalidToken):
        return text(locale, "token_invalid"), 400
    return text(locale, "login_failed"), 401


# --- sign in ---------------------------------------------------------------------------------


def social_buttons(ctx: AuthContext) -> list[tuple[str, str]]:
    """(id, label) of the enabled upstream providers, shown as "Sign in with ..." links."""
    return [(p.id, p.name) for p in ctx.settings.social_providers if p.enabled]


@router.get("/login")
async def login_page(
    request: Request,
    ctx: AuthDep,
    current: CurrentSessionDep,
    return_to: str | None = None,
    prompt: str | None = None,
) -> Response:
    """`prompt=login` (OIDC) shows the form even to a signed-in customer: re-authentication."""
    target = safe_return_to(return_to)
    if current is not None and prompt != "login":
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    return render(
        request,
        ctx,
        "login.html",
        social=social_buttons(ctx),
        locale=locale_of(request),
        title_key="login_title",
        return_to=target,
        fresh=prompt == "login",
    )


@router.post("/login")
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
    try:
        check_csrf(request, csrf)
        result = await signin.sign_in(
            session,
            ctx,
            email=email,
            password=password,
            client=client_of(request, "web"),
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
    return _signed_in(ctx, result, target)


@router.post("/login/totp")
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
    try:
        check_csrf(request, csrf)
        result = await signin.complete_second_step(
            session,
            ctx,
            mfa_token=mfa_token,
            code=code or None,
            recovery_code=recovery_code or None,
            client=client_of(request, "web"),
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
    return _signed_in(ctx, result, target)


def _signed_in(ctx: AuthContext, result: signin.SignInResult, target: str) -> Response:
    assert result.session is not None
    secure = ctx.settings.secure_cookies
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    if result.session.secret:  # a new session; a re-authenticated one keeps its cookie
        set_session_cookie(
            response, result.session, secure=secure, max_age=ctx.settings.session_absolute_seconds
        )
    set_device_cookie(response, result.device_token, secure=secure)
    return response


@router.post("/logout")
async def logout(
    request: Request, ctx: AuthDep, current: CurrentSessionDep, csrf: OptionalForm = None
) -> Response:
    check_csrf(request, csrf)
    if current is not None:
        await ctx.sessions.revoke(current.account_id, current.id)
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    clear_session_cookie(response, secure=ctx.settings.secure_cookies)
    return response


# --- account ---------------------------------------------------------------------------------


NOTICES = {
    "password": "password_changed",
    "totp-off": "totp_disabled",
    "email": "email_change_sent",
}


@router.get("/account")
async def account_page(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    done: str | None = None,
) -> Response:
    if current is None:
        return RedirectResponse("/login?return_to=/account", status_code=status.HTTP_303_SEE_OTHER)
    locale = locale_of(request)
    notice = text(locale, NOTICES[done]) if done in NOTICES else None
    return await account_view(request, session, ctx, current, notice=notice)


async def account_view(
    request: Request,
    session: AsyncSession,
    ctx: AuthContext,
    current: Session,
    *,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
    locale: str | None = None,
) -> Response:
    """The account page: sessions, password, second factor, deletion; for an account without
    a password, the re-authentication through its linked providers those changes need."""
    account = await repository.account_by_id(session, current.account_id)
    if account is None:
        return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    social = request.app.state.runtime.extras.get("social")
    linked = [i.provider for i in await social_repository.identities_of(session, account.id)]
    enabled = social.upstreams.by_id if social is not None else {}
    providers = [(p, enabled[p].config.name) for p in dict.fromkeys(linked) if p in enabled]
    return render(
        request,
        ctx,
        "account.html",
        locale=locale or locale_of(request),
        title_key="account_title",
        status_code=status_code,
        main_class="wide",
        email=account.email or "",
        has_password=account.password_hash is not None,
        providers=providers,
        reauth_until=reauthenticated_until(current, ctx.settings.reauth_window_seconds),
        totp_enabled=account.totp_enabled,
        sessions=await ctx.sessions.list_for(current.account_id),
        current_id=current.id,
        error=error,
        notice=notice,
    )


@router.post("/account/sessions/{session_id}/end")
async def end_session(
    session_id: str,
    request: Request,
    ctx: AuthDep,
    current: CurrentSessionDep,
    csrf: OptionalForm = None,
) -> Response:
    check_csrf(request, csrf)
    if current is None:
        return RedirectResponse("/login?return_to=/account", status_code=status.HTTP_303_SEE_OTHER)
    await ctx.sessions.revoke(current.account_id, session_id)
    target = "/login" if session_id == current.id else "/account"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
