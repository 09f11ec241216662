"""JSON API of the signed-in customer, authenticated by the session cookie.

Cross-site forgery: the cookie is SameSite=Lax, so a cross-site POST or DELETE never carries
it; a same-site one (a sibling subdomain) does, so every state-changing call must also come
from our own origin (Origin, else Sec-Fetch-Site) and, when it has a content type, be JSON,
which no other origin can send without a CORS preflight (`web.same_origin_json`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response, status

from ciam_auth.accounts.schemas import (
    Accepted,
    EmailChangeIn,
    MeOut,
    PasswordChangeIn,
    PasswordConfirmIn,
    RecoveryCodesOut,
    TotpConfirmIn,
    TotpEnrollmentOut,
)
from ciam_auth.accounts.service import accounts, second_factor
from ciam_auth.errors import NotSignedIn, SessionNotFound
from ciam_auth.parts import AuthDep
from ciam_auth.sessions.schemas import SessionOut, session_out
from ciam_auth.sessions.store import clear_session_cookie, reauthenticated_until
from ciam_auth.transactions import SessionDep
from ciam_auth.web import SignedInDep, client_of, same_origin_json
from ciam_shared.http.openapi import problem_responses

router = APIRouter(
    prefix="/v1/me",
    tags=["me"],
    dependencies=[Depends(same_origin_json)],
    responses=problem_responses(401, 403, 415),
)


@router.get("")
async def me(current: SignedInDep, session: SessionDep, ctx: AuthDep) -> MeOut:
    account = await accounts.account_of(session, current.account_id)
    if account is None:
        raise NotSignedIn("The account no longer exists.")
    return MeOut(
        subject_id=account.id,
        email=account.email,
        email_verified=account.email_verified_at is not None,
        totp_enabled=account.totp_enabled,
        recovery_codes_left=await accounts.recovery_codes_left(session, account.id),
        has_password=account.password_hash is not None,
        reauthenticated_until=reauthenticated_until(current, ctx.settings.reauth_window_seconds),
    )


@router.get("/sessions")
async def list_sessions(current: SignedInDep, ctx: AuthDep) -> list[SessionOut]:
    return [session_out(s, current) for s in await ctx.sessions.list_for(current.account_id)]


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def end_session(session_id: str, current: SignedInDep, ctx: AuthDep) -> None:
    if not await ctx.sessions.revoke(current.account_id, session_id):
        raise SessionNotFound("You have no session with this id.")


@router.post("/password", responses=problem_responses(400, 429))
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    current: SignedInDep,
    session: SessionDep,
    ctx: AuthDep,
) -> dict[str, int]:
    ended = await accounts.change_password(
        session,
        ctx,
        current,
        current_password=body.current_password,
        new_password=body.new_password,
        client=client_of(request, current.channel),
    )
    return {"ended_sessions": len(ended)}


@router.post(
    "/email", status_code=status.HTTP_202_ACCEPTED, responses=problem_responses(400, 409, 429)
)
async def change_email(
    body: EmailChangeIn, request: Request, current: SignedInDep, session: SessionDep, ctx: AuthDep
) -> Accepted:
    await accounts.request_email_change(
        session,
        ctx,
        current,
        password=body.password,
        new_email=body.new_email,
        client=client_of(request, current.channel),
    )
    return Accepted(detail="A link and a code to confirm the new address are on their way.")


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(400, 429))
async def delete_account(
    body: PasswordConfirmIn,
    request: Request,
    current: SignedInDep,
    session: SessionDep,
    ctx: AuthDep,
) -> Response:
    await accounts.delete_account(
        session, ctx, current, password=body.password, client=client_of(request, current.channel)
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, secure=ctx.settings.secure_cookies)
    return response


@router.post("/totp", responses=problem_responses(409))
async def begin_totp(current: SignedInDep, session: SessionDep, ctx: AuthDep) -> TotpEnrollmentOut:
    enrollment = await second_factor.begin(session, ctx, current)
    return TotpEnrollmentOut(secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri)


@router.post("/totp/confirm", responses=problem_responses(400, 429))
async def confirm_totp(
    body: TotpConfirmIn, current: SignedInDep, session: SessionDep, ctx: AuthDep
) -> RecoveryCodesOut:
    codes = await second_factor.confirm(session, ctx, current, code=body.code)
    return RecoveryCodesOut(recovery_codes=codes)


@router.delete(
    "/totp", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(400, 429)
)
async def disable_totp(
    body: PasswordConfirmIn,
    request: Request,
    current: SignedInDep,
    session: SessionDep,
    ctx: AuthDep,
) -> None:
    await second_factor.disable(
        session, ctx, current, password=body.password, client=client_of(request, current.channel)
    )
