"""The passkey JSON API the pages' script calls (and any client that speaks WebAuthn).

Sign-in: `POST /v1/passkeys/sign-in/options` then `POST /v1/passkeys/sign-in` (the session
cookie is set). The signed-in customer's passkeys: `/v1/me/passkeys...` (same origin, JSON).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import FileResponse

from ciam_auth.errors import NotSignedIn
from ciam_auth.parts import AuthDep, CurrentSessionDep
from ciam_auth.passkeys import repository
from ciam_auth.passkeys.schemas import (
    Accepted,
    PasskeyOut,
    RegistrationIn,
    RenameIn,
    SignedInOut,
    SignInIn,
    SignUpIn,
    SignUpOptionsIn,
)
from ciam_auth.passkeys.service import ceremonies, manage, signup
from ciam_auth.sessions.store import set_session_cookie
from ciam_auth.transactions import SessionDep
from ciam_auth.web import (
    SignedInDep,
    check_csrf,
    check_same_origin,
    client_of,
    safe_return_to,
    same_origin_json,
)
from ciam_shared.http.openapi import problem_responses

router = APIRouter(tags=["passkeys"])
me = APIRouter(
    prefix="/v1/me/passkeys",
    tags=["passkeys"],
    dependencies=[Depends(same_origin_json)],
    responses=problem_responses(401, 403, 415),
)
SCRIPT = Path(__file__).resolve().parent.parent / "static" / "passkeys.js"


@router.get("/passkeys/passkeys.js", include_in_schema=False)
async def script() -> FileResponse:
    """The pages' only script: a static file of our origin (the CSP allows `script-src
    'self'`, no inline script)."""
    return FileResponse(
        SCRIPT,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/v1/passkeys/sign-in/options", responses=problem_responses(403, 429))
async def sign_in_options(request: Request, ctx: AuthDep) -> dict[str, Any]:
    """Request options for a discoverable passkey (no address asked, none revealed);
    throttled per client address like sign-in attempts."""
    check_same_origin(request)
    return await ceremonies.authentication_options(ctx, client_of(request, "web"))


@router.post("/v1/passkeys/sign-in", responses=problem_responses(400, 401, 403))
async def sign_in(
    body: SignInIn,
    request: Request,
    response: Response,
    session: SessionDep,
    ctx: AuthDep,
    current: CurrentSessionDep,
) -> SignedInOut:
    check_csrf(request, body.csrf)
    signed_in = await manage.sign_in(
        session, ctx, body.credential, client_of(request, "web"), current
    )
    if signed_in.secret:  # a new session; a re-authenticated one keeps its cookie
        set_session_cookie(
            response,
            signed_in,
            secure=ctx.settings.secure_cookies,
            max_age=ctx.settings.session_absolute_seconds,
        )
    return SignedInOut(redirect=safe_return_to(body.return_to), amr=signed_in.amr)


@router.post("/v1/passkeys/sign-up/options", responses=problem_responses(400, 403, 422, 429))
async def sign_up_options(body: SignUpOptionsIn, request: Request, ctx: AuthDep) -> dict[str, Any]:
    """Creation options for a new account with a passkey only; the same for every address."""
    check_csrf(request, body.csrf)
    return await signup.options(
        ctx, email=str(body.email), locale=body.locale, client=client_of(request, "web")
    )


@router.post(
    "/v1/passkeys/sign-up", status_code=202, responses=problem_responses(400, 401, 403, 409)
)
async def sign_up(body: SignUpIn, request: Request, session: SessionDep, ctx: AuthDep) -> Accepted:
    """The new passkey, checked; the account is created (or the owner of the address told)
    by a job, and the address confirmed by the usual mail."""
    check_csrf(request, body.csrf)
    await signup.register(session, ctx, body.credential)
    return Accepted()


@me.get("")
async def list_passkeys(current: SignedInDep, session: SessionDep) -> list[PasskeyOut]:
    return [
        PasskeyOut(**view.__dict__) for view in await manage.listing(session, current.account_id)
    ]


@me.post("/options", responses=problem_responses(403))
async def registration_options(
    current: SignedInDep, session: SessionDep, ctx: AuthDep
) -> dict[str, Any]:
    account = await repository.account(session, current.account_id)
    if account is None:
        raise NotSignedIn("The account no longer exists.")
    return await ceremonies.registration_options(session, ctx, account, current)


@me.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(400, 401, 409))
async def add_passkey(
    body: RegistrationIn, current: SignedInDep, session: SessionDep, ctx: AuthDep
) -> PasskeyOut:
    account = await repository.account(session, current.account_id)
    if account is None:
        raise NotSignedIn("The account no longer exists.")
    await ceremonies.register(session, ctx, account, current, body.credential, body.name)
    views = await manage.listing(session, account.id)
    return PasskeyOut(**views[-1].__dict__)


@me.patch("/{passkey_id}", status_code=204, responses=problem_responses(400, 404))
async def rename_passkey(
    passkey_id: uuid.UUID, body: RenameIn, current: SignedInDep, session: SessionDep
) -> Response:
    await manage.rename(session, current.account_id, passkey_id, body.name)
    return Response(status_code=204)


@me.delete("/{passkey_id}", status_code=204, responses=problem_responses(404, 409))
async def remove_passkey(
    passkey_id: uuid.UUID, current: SignedInDep, session: SessionDep, ctx: AuthDep
) -> Response:
    await manage.remove(session, ctx, current.account_id, passkey_id, current)
    return Response(status_code=204)
