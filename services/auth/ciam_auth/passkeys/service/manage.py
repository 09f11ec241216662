"""Signing in with a passkey, and the customer's own list: rename, remove."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.context import SOURCE, AuthContext
from ciam_auth.passkeys import repository
from ciam_auth.passkeys.aaguids import model_name
from ciam_auth.passkeys.errors import LastWayIn, PasskeyNotFound, PasskeyRefused
from ciam_auth.passkeys.service.ceremonies import MAX_NAME, PASSKEY_AMR, authenticate
from ciam_auth.sessions.service import Client, start_session
from ciam_auth.sessions.store import Session
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, PasskeyRemoved
from ciam_shared.outbox import stage


async def sign_in(
    session: AsyncSession,
    ctx: AuthContext,
    response: dict[str, Any],
    client: Client,
    current: Session | None = None,
) -> Session:
    """A session for the passkey's account. With user verification the passkey is both
    factors: no TOTP step follows (amr PASSKEY_AMR). A signed-in customer of the same account
    is re-authenticated in place (OIDC prompt=login, max_age)."""
    asserted = await authenticate(session, ctx, response)
    if not asserted.user_verified:  # the ceremony requires it; kept as a second wall
        raise PasskeyRefused("The passkey was not accepted. Try again.")
    signed_in = await start_session(session, ctx, asserted.account, client, PASSKEY_AMR, current)
    # Unlike a provider's session, a passkey with user verification asked the customer just
    # now: it is the re-authentication a password-less account's sensitive changes need
    # (`reauth_at`; an account with a password is still asked for it, sessions/service.py).
    stepped = await ctx.sessions.reauthenticated(signed_in.id, PASSKEY_AMR, step_up=True)
    return replace(stepped, secret=signed_in.secret) if stepped else signed_in


@dataclass(frozen=True)
class PasskeyView:
    id: uuid.UUID
    name: str
    model: str | None
    created_at: datetime
    last_used_at: datetime | None
    synced: bool
    backed_up: bool
    flagged: bool


async def listing(session: AsyncSession, account_id: uuid.UUID) -> list[PasskeyView]:
    return [
        PasskeyView(
            id=p.id,
            name=p.name,
            model=model_name(p.aaguid),
            created_at=p.created_at,
            last_used_at=p.last_used_at,
            synced=p.synced,
            backed_up=p.backed_up,
            flagged=p.flagged_at is not None,
        )
        for p in await repository.of_account(session, account_id)
    ]


async def rename(
    session: AsyncSession, account_id: uuid.UUID, passkey_id: uuid.UUID, name: str
) -> None:
    passkey = await repository.one_of_account(session, account_id, passkey_id)
    if passkey is None:
        raise PasskeyNotFound("No such passkey.")
    cleaned = " ".join(name.split())[:MAX_NAME]
    if cleaned:
        passkey.name = cleaned


async def remove(
    session: AsyncSession,
    ctx: AuthContext,
    account_id: uuid.UUID,
    passkey_id: uuid.UUID,
    signed_in: Session,
) -> list[str]:
    """Remove the passkey and end the account's other sessions (as a password change does);
    refused when it is the last way in. Returns the ended session ids."""
    account = await repository.lock_account(session, account_id)
    passkey = await repository.one_of_account(session, account_id, passkey_id)
    if account is None or passkey is None:
        raise PasskeyNotFound("No such passkey.")
    others = await repository.count_of_account(session, account_id) - 1
    if (
        account.password_hash is None
        and others == 0
        and await repository.linked_identities(session, account_id) == 0
    ):
        raise LastWayIn("Add a password or another passkey before removing this one.")
    await repository.remove(session, passkey)
    event = PasskeyRemoved(subject_id=account_id, removed_at=utcnow())
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=ctx.topic_prefix)
    return await ctx.sessions.revoke_all(account_id, except_session_id=signed_in.id)
