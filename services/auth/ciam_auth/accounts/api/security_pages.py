"""The account page's security forms: change the password, set up or turn off TOTP, delete the
account. Each needs the signed-in session and the CSRF token; the sensitive ones the password,
or, for an account without one, a recent re-authentication through a linked provider (the
password fields are then absent and arrive empty)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.accounts.api.account_page import account_view
from ciam_auth.accounts.service import accounts, second_factor
from ciam_auth.adapters.qr import qr_data_uri, text_file_uri
from ciam_auth.context import AuthContext
from ciam_auth.datarights.service import deletions
from ciam_auth.errors import (
    CsrfFailed,
    InvalidCredentials,
    NoAddressForPassword,
    PasswordRefused,
    ReauthenticationFailed,
    ReauthenticationRequired,
    Throttled,
    TotpStateError,
)
from ciam_auth.i18n import text
from ciam_auth.pages import FormStr, OptionalForm, failure_message, render
from ciam_auth.parts import AuthDep, CurrentSessionDep
from ciam_auth.sessions.store import Session, clear_session_cookie
from ciam_auth.transactions import SessionDep
from ciam_auth.web import check_csrf, client_of, locale_of

router = APIRouter(tags=["pages"], include_in_schema=False)
EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)
FAILURES = (
    CsrfFailed,
    NoAddressForPassword,
    PasswordRefused,
    ReauthenticationFailed,
    Throttled,
    TotpStateError,
)


def _message(locale: str, exc: Exception) -> tuple[str, int]:
    if isinstance(exc, ReauthenticationRequired):
        return text(locale, "reauth_needed"), 403
    if isinstance(exc, NoAddressForPassword):
        return text(locale, "no_address_for_password"), 409
    if isinstance(exc, ReauthenticationFailed):
        return text(locale, "reauth_failed"), 403
    if isinstance(exc, TotpStateError):
        return text(locale, "form_expired"), 409
    return failure_message(locale, exc)


def _to_login() -> Response:
    return RedirectResponse("/login?return_to=/account", status_code=status.HTTP_303_SEE_OTHER)


async def _account_form(
    request: Request,
    session: AsyncSession,
    ctx: AuthContext,
    current: Session | None,
    csrf: str | None,
    action: Callable[[Session], Awaitable[None]],
    success: Response,
) -> Response:
    """The shape of the account page's plain forms: signed in, the CSRF token checked, the
    action; then `success`, or the page again with the failure shown."""
    if current is None:
        return _to_login()
    try:
        check_csrf(request, csrf)
        await action(current)
    except FAILURES as exc:
        message, code = _message(locale_of(request), exc)
        return await account_view(request, session, ctx, current, status_code=code, error=message)
    return success


def _done(what: str) -> Response:
    return RedirectResponse(f"/account?done={what}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/account/password")
async def change_password(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    current_password: FormStr = "",
    new_password: FormStr = "",
    csrf: OptionalForm = None,
) -> Response:
    async def change(signed_in: Session) -> None:
        await accounts.change_password(
            session,
            ctx,
            signed_in,
            current_password=current_password,
            new_password=new_password,
            client=client_of(request, signed_in.channel),
        )

    return await _account_form(request, session, ctx, current, csrf, change, _done("password"))


@router.post("/account/email")
async def change_email(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    new_email: FormStr = "",
    password: FormStr = "",
    csrf: OptionalForm = None,
) -> Response:
    """The new address confirms with the link or code mailed to it (/verify-email)."""
    if current is None:
        return _to_login()
    locale = locale_of(request)
    try:
        check_csrf(request, csrf)
        address = EMAIL.validate_python(new_email)
        await accounts.request_email_change(
            session,
            ctx,
            current,
            password=password,
            new_email=address,
            client=client_of(request, current.channel),
        )
    except ValidationError:
        message = text(locale, "invalid_email")
        return await account_view(request, session, ctx, current, status_code=422, error=message)
    except FAILURES as exc:
        message, code = _message(locale, exc)
        return await account_view(request, session, ctx, current, status_code=code, error=message)
    return _done("email")


@router.post("/account/totp")
async def begin_totp(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    csrf: OptionalForm = None,
) -> Response:
    if current is None:
        return _to_login()
    locale = locale_of(request)
    try:
        check_csrf(request, csrf)
        enrollment = await second_factor.begin(session, ctx, current)
    except FAILURES as exc:
        message, code = _message(locale, exc)
        return await account_view(request, session, ctx, current, status_code=code, error=message)
    return render(
        request,
        ctx,
        "totp_setup.html",
        locale=locale,
        title_key="totp_set_up",
        secret=enrollment.secret,
        otpauth_uri=enrollment.otpauth_uri,
        qr=qr_data_uri(enrollment.otpauth_uri),
    )


@router.post("/account/totp/confirm")
async def confirm_totp(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    code: FormStr = "",
    csrf: OptionalForm = None,
) -> Response:
    if current is None:
        return _to_login()
    locale = locale_of(request)
    try:
        check_csrf(request, csrf)
        codes = await second_factor.confirm(session, ctx, current, code=code)
    except InvalidCredentials:
        pending = await second_factor.pending_enrollment(session, ctx, current.account_id)
        if pending is None:
            return RedirectResponse("/account", status_code=status.HTTP_303_SEE_OTHER)
        return render(
            request,
            ctx,
            "totp_setup.html",
            locale=locale,
            title_key="totp_set_up",
            status_code=401,
            error=text(locale, "totp_failed"),
            secret=pending.secret,
            otpauth_uri=pending.otpauth_uri,
            qr=qr_data_uri(pending.otpauth_uri),
        )
    except FAILURES as exc:
        message, status_code = _message(locale, exc)
        return await account_view(
            request, session, ctx, current, status_code=status_code, error=message
        )
    account = await accounts.account_of(session, current.account_id)
    intro = text(locale, "recovery_file_intro", email=account.email if account else "")
    return render(
        request,
        ctx,
        "totp_setup.html",
        locale=locale,
        title_key="recovery_title",
        recovery_codes=codes,
        recovery_file=text_file_uri("\n".join([intro, "", *codes, ""])),
    )


@router.post("/account/totp/disable")
async def disable_totp(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    password: FormStr = "",
    csrf: OptionalForm = None,
) -> Response:
    async def disable(signed_in: Session) -> None:
        client = client_of(request, signed_in.channel)
        await second_factor.disable(session, ctx, signed_in, password=password, client=client)

    return await _account_form(request, session, ctx, current, csrf, disable, _done("totp-off"))


@router.post("/account/delete")
async def delete_account(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
    password: FormStr = "",
    csrf: OptionalForm = None,
) -> Response:
    gone = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)

    async def delete(signed_in: Session) -> None:
        client = client_of(request, signed_in.channel)
        token = await accounts.delete_account(
            session, ctx, signed_in, password=password, client=client
        )
        # Not a bare sign-in page: the status of the erasure, step by step (datarights).
        gone.headers["location"] = f"{deletions.status_path(token)}?ui_locales={locale_of(request)}"

    clear_session_cookie(gone, secure=ctx.settings.secure_cookies)
    return await _account_form(request, session, ctx, current, csrf, delete, gone)
