"""The pages to register, confirm the address and reset the password (see pages.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ciam_auth.accounts.service import accounts
from ciam_auth.errors import CsrfFailed, InvalidToken, PasswordRefused, Throttled
from ciam_auth.i18n import text
from ciam_auth.pages import FormStr, OptionalForm, failure_message, render
from ciam_auth.parts import AuthDep
from ciam_auth.transactions import SessionDep, refusal_as_error
from ciam_auth.web import check_csrf, client_of, locale_of

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/register")
async def register_page(request: Request, ctx: AuthDep) -> Response:
    return render(
        request, ctx, "register.html", locale=locale_of(request), title_key="register_title"
    )


@router.post("/register")
async def register(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    email: FormStr = "",
    password: FormStr = "",
    csrf: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    locale = locale_of(request, ui_locales)
    try:
        check_csrf(request, csrf)
        await accounts.register(
            session,
            ctx,
            email=email,
            password=password,
            locale=locale,
            client=client_of(request, "web"),
        )
    except (PasswordRefused, CsrfFailed, Throttled) as exc:
        message, code = failure_message(locale, exc)
        return render(
            request,
            ctx,
            "register.html",
            locale=locale,
            title_key="register_title",
            status_code=code,
            error=message,
            email=email,
        )
    # "Check your inbox", with the box for the mailed code and "send again".
    return render(
        request,
        ctx,
        "verify.html",
        locale=locale,
        title_key="verify_title",
        notice=text(locale, "check_mail"),
        email=email,
    )


@router.get("/verify-email")
async def verify_page(request: Request, ctx: AuthDep, token: str | None = None) -> Response:
    # A GET never redeems the link: mail scanners open links; the customer presses the button.
    return render(
        request,
        ctx,
        "verify.html",
        locale=locale_of(request),
        title_key="verify_title",
        token=token,
    )


@router.post("/verify-email")
async def verify(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    token: OptionalForm = None,
    email: OptionalForm = None,
    code: OptionalForm = None,
    csrf: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    locale = locale_of(request, ui_locales)
    try:
        check_csrf(request, csrf)
        # A wrong code's count commits with this page's answer.
        async with refusal_as_error():
            await accounts.verify_email(session, ctx, token=token, email=email, code=code)
    except (InvalidToken, CsrfFailed) as exc:
        message, status_code = failure_message(locale, exc)
        return render(
            request,
            ctx,
            "verify.html",
            locale=locale,
            title_key="verify_title",
            status_code=status_code,
            error=message,
            token=None,
            email=email or "",
        )
    return render(
        request,
        ctx,
        "verify.html",
        locale=locale,
        title_key="verify_title",
        notice=text(locale, "verified"),
        done=True,
    )


@router.post("/verify-email/resend")
async def resend_verification(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    email: FormStr = "",
    csrf: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    locale = locale_of(request, ui_locales)
    try:
        check_csrf(request, csrf)
        await accounts.resend_verification(
            session, ctx, email=email, client=client_of(request, "web")
        )
    except (CsrfFailed, Throttled) as exc:
        message, status_code = failure_message(locale, exc)
        return render(
            request,
            ctx,
            "verify.html",
            locale=locale,
            title_key="verify_title",
            status_code=status_code,
            error=message,
            email=email,
        )
    return render(
        request,
        ctx,
        "verify.html",
        locale=locale,
        title_key="verify_title",
        notice=text(locale, "resent"),
        email=email,
    )


@router.get("/reset-password")
async def reset_page(
    request: Request, ctx: AuthDep, token: str | None = None, code: bool = False
) -> Response:
    stage = "confirm" if token or code else "request"
    return render(
        request,
        ctx,
        "reset.html",
        locale=locale_of(request),
        title_key="reset_title",
        stage=stage,
        token=token,
    )


@router.post("/reset-password")
async def request_reset(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    email: FormStr = "",
    csrf: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    locale = locale_of(request, ui_locales)
    try:
        check_csrf(request, csrf)
        await accounts.request_reset(session, ctx, email=email, client=client_of(request, "web"))
    except (CsrfFailed, Throttled) as exc:
        message, status_code = failure_message(locale, exc)
        return render(
            request,
            ctx,
            "reset.html",
            locale=locale,
            title_key="reset_title",
            status_code=status_code,
            error=message,
            stage="request",
        )
    return render(
        request,
        ctx,
        "reset.html",
        locale=locale,
        title_key="reset_title",
        notice=text(locale, "reset_sent"),
        stage="confirm",
        token=None,
    )


@router.post("/reset-password/confirm")
async def confirm_reset(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    new_password: FormStr = "",
    token: OptionalForm = None,
    email: OptionalForm = None,
    code: OptionalForm = None,
    csrf: OptionalForm = None,
    ui_locales: OptionalForm = None,
) -> Response:
    locale = locale_of(request, ui_locales)
    try:
        check_csrf(request, csrf)
        async with refusal_as_error():
            await accounts.confirm_reset(
                session, ctx, new_password=new_password, token=token, email=email, code=code
            )
    except (InvalidToken, PasswordRefused, CsrfFailed) as exc:
        message, status_code = failure_message(locale, exc)
        return render(
            request,
            ctx,
            "reset.html",
            locale=locale,
            title_key="reset_title",
            status_code=status_code,
            error=message,
            stage="confirm",
            token=token,
        )
    return render(
        request,
        ctx,
        "reset.html",
        locale=locale,
        title_key="reset_title",
        notice=text(locale, "reset_done"),
        stage="done",
    )
