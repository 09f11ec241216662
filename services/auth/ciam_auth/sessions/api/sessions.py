"""JSON API for sign-in: the password, the TOTP second step, signing out (non-browser clients;
the pages are in pages.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from ciam_auth.parts import AuthDep, CurrentSessionDep
from ciam_auth.sessions import service as signin
from ciam_auth.sessions.schemas import SecondStepIn, SignInIn, SignInOut, session_out
from ciam_auth.sessions.store import clear_session_cookie, set_session_cookie
from ciam_auth.transactions import SessionDep
from ciam_auth.web import client_of, set_device_cookie
from ciam_shared.http.openapi import problem_responses

# The same tag as the accounts' routes: one section of the OpenAPI document, as before.
router = APIRouter(prefix="/v1", tags=["accounts"])


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
