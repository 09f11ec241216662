"""JSON API for accounts and sign-in (non-browser clients; the pages are in pages.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from ciam_auth.context import AuthDep
from ciam_auth.schemas import (
    Accepted,
    RegistrationIn,
    ResetConfirmIn,
    ResetRequestIn,
    SecondStepIn,
    SessionOut,
    SignInIn,
    SignInOut,
    VerificationIn,
)
from ciam_auth.service import accounts, signin
from ciam_auth.sessions import CurrentSessionDep, Session, clear_session_cookie, set_session_cookie
from ciam_auth.web import client_of, locale_of, set_device_cookie
from ciam_shared.http.openapi import problem_responses
from ciam_shared.service import SessionDep

router = APIRouter(prefix="/v1", tags=["accounts"])

REGISTRATION_ACCEPTED = (
    "If the address can be used, a link and a code to confirm it are on their way. Check the inbox."
)
RESET_ACCEPTED = "If an account uses this address, a link and a code are on their way."


@router.post(
    "/accounts", status_code=status.HTTP_202_ACCEPTED, responses=problem_responses(400, 429)
)
async def register(
    body: RegistrationIn, request: Request, session: SessionDep, ctx: AuthDep
) -> Accepted:
    await accounts.register(
        session,
        ctx,
        email=body.email,
        password=body.password,
        locale=locale_of(request, body.locale),
        client=client_of(request, "api"),
    )
    return Accepted(detail=REGISTRATION_ACCEPTED)


@router.post("/email-verifications", responses=problem_responses(400))
async def verify_email(body: VerificationIn, session: SessionDep, ctx: AuthDep) -> dict[str, str]:
    account = await accounts.verify_email(
        session, ctx, token=body.token, email=body.email, code=body.code
    )
    return {"status": "verified", "subject_id": str(account.id)}


@router.post(
    "/password-resets", status_code=status.HTTP_202_ACCEPTED, responses=problem_responses(400, 429)
)
async def request_reset(
    body: ResetRequestIn, request: Request, session: SessionDep, ctx: AuthDep
) -> Accepted:
    await accounts.request_reset(session, ctx, email=body.email, client=client_of(request, "api"))
    return Accepted(detail=RESET_ACCEPTED)


@router.post("/password-resets/confirm", responses=problem_responses(400))
async def confirm_reset(body: ResetConfirmIn, session: SessionDep, ctx: AuthDep) -> dict[str, str]:
    await accounts.confirm_reset(
        session,
        ctx,
        new_password=body.new_password,
        token=body.token,
        email=body.email,
        code=body.code,
    )
    return {"status": "password_changed"}


@router.post("/sessions", responses=problem_responses(400, 401, 403, 429))
async def sign_in(
    body: SignInIn,
    request: Request,
    response: Response,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
) -> SignInOut:
    """Sign in with the password; the session cookie is set on success. With TOTP enabled the
    answer is `mfa_required` with a token for POST /v1/sessions/mfa."""
    result = await signin.sign_in(
        session,
        ctx,
        email=body.email,
        password=body.password,
        client=client_of(request, body.channel),
        current=current,
    )
    if result.session is None:
        return SignInOut(mfa_required=True, mfa_token=result.mfa_token)
    return _signed_in(ctx, response, result)


@router.post("/sessions/mfa", responses=problem_responses(400, 401, 429))
async def second_step(
    body: SecondStepIn,
    request: Request,
    response: Response,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
) -> SignInOut:
    result = await signin.complete_second_step(
        session,
        ctx,
        mfa_token=body.mfa_token,
        code=body.code,
        recovery_code=body.recovery_code,
        client=client_of(request, body.channel),
        current=current,
    )
    return _signed_in(ctx, response, result)


@router.delete("/sessions/current", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(current: CurrentSessionDep, ctx: AuthDep) -> Response:
    if current is not None:
        await ctx.sessions.revoke(current.account_id, current.id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, secure=ctx.settings.secure_cookies)
    return response


def session_out(session: Session, current: Session | None = None) -> SessionOut:
    return SessionOut(
        id=session.id,
        device=session.device,
        channel=session.channel,
        created_at=session.created_at,
        last_seen=session.last_seen,
        current=current is not None and current.id == session.id,
    )


def _signed_in(ctx: AuthDep, response: Response, result: signin.SignInResult) -> SignInOut:
    session = result.session
    assert session is not None
    secure = ctx.settings.secure_cookies
    if session.secret:  # a new session; a re-authenticated one keeps its cookie
        set_session_cookie(
            response, session, secure=secure, max_age=ctx.settings.session_absolute_seconds
        )
    set_device_cookie(response, result.device_token, secure=secure)
    return SignInOut(session=session_out(session, session), subject_id=session.account_id)
