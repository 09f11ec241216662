"""JSON API for accounts: registration, address verification, password reset (non-browser
clients; the pages are in pages.py, sign-in in ciam_auth.sessions.api)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from ciam_auth.accounts.schemas import (
    Accepted,
    RegistrationIn,
    ResetConfirmIn,
    ResetRequestIn,
    VerificationIn,
)
from ciam_auth.accounts.service import accounts
from ciam_auth.parts import AuthDep
from ciam_auth.transactions import SessionDep
from ciam_auth.web import client_of, locale_of
from ciam_shared.http.openapi import problem_responses

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
