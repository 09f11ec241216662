"""Links and codes sent by email: issued, then redeemed once (a code: a few tries at most)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.accounts import repository
from ciam_auth.context import AuthContext
from ciam_auth.errors import InvalidToken
from ciam_auth.models import EmailToken
from ciam_auth.transactions import CommitThenRefuse
from ciam_shared.db import new_id, utcnow

VERIFY = "verify_email"
CHANGE_EMAIL = "change_email"
RESET = "reset_password"
PROVES_ADDRESS = (VERIFY, CHANGE_EMAIL)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def code_hash(token_id: uuid.UUID, code: str) -> str:
    return hmac.new(token_id.bytes, code.strip().encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: str  # goes into the link
    code: str  # six digits, typed by hand


async def issue(
    session: AsyncSession,
    ctx: AuthContext,
    *,
    account_id: uuid.UUID,
    purpose: str,
    email: str,
    ttl_seconds: int,
) -> Issued:
    now = utcnow()
    retire = PROVES_ADDRESS if purpose in PROVES_ADDRESS else (purpose,)
    await repository.retire_email_tokens(session, account_id, retire, now)
    token, code, token_id = secrets.token_urlsafe(32), f"{secrets.randbelow(10**6):06d}", new_id()
    await repository.add_email_token(
        session,
        EmailToken(
            id=token_id,
            account_id=account_id,
            purpose=purpose,
            email=email,
            token_hash=token_hash(token),
            code_hash=code_hash(token_id, code),
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        ),
    )
    return Issued(token=token, code=code)


async def redeem(
    session: AsyncSession,
    ctx: AuthContext,
    purposes: tuple[str, ...],
    *,
    token: str | None = None,
    email: str | None = None,
    code: str | None = None,
) -> EmailToken:
    """The live token named by the link's `token`, or by `email` and `code`; marked used.

    Every failure is the same InvalidToken. A wrong code is counted, and burns the token at
    `code_attempts`: the count is committed before the refusal (`CommitThenRefuse`), where any
    other error rolls the request back.
    """
    now = utcnow()
    if token:
        found = await repository.live_token_by_hash(session, token_hash(token), purposes, now)
    elif email and code:
        found = await repository.live_token_for_email(session, email, purposes, now)
        if found is not None and not hmac.compare_digest(
            found.code_hash, code_hash(found.id, code)
        ):
            await repository.count_wrong_code(session, found.id, ctx.settings.code_attempts)
            raise CommitThenRefuse(InvalidToken("This link or code is not valid (any more)."))
        elif found is not None and not await repository.lock_token(session, found):
            found = None
    else:
        found = None
    if found is None:
        raise InvalidToken("This link or code is not valid (any more).")
    found.used_at = now
    return found
