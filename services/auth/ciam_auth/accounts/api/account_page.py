"""The account page: sessions, password, second factor, deletion (its forms post to
security_pages.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.accounts.service import accounts
from ciam_auth.context import AuthContext
from ciam_auth.i18n import text
from ciam_auth.pages import OptionalForm, render
from ciam_auth.parts import AuthDep, CurrentSessionDep, parts_of
from ciam_auth.sessions.store import Session, reauthenticated_until
from ciam_auth.transactions import SessionDep
from ciam_auth.web import check_csrf, locale_of

router = APIRouter(tags=["pages"], include_in_schema=False)


NOTICES = {
    "password": "password_changed",
    "totp-off": "totp_disabled",
    "email": "email_change_sent",
    "passkey-added": "passkey_added",
    "passkey-renamed": "passkey_renamed",
    "passkey-removed": "passkey_removed",
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
    account = await accounts.account_of(session, current.account_id)
    if account is None:
        return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    # Asked of social sign-in through the parts (wired by create_app): no import of it here.
    providers = await parts_of(request).linked_providers(session, account.id)
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
        passkeys=await parts_of(request).passkeys_of(session, account.id),
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
