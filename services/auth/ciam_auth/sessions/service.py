"""Signing in: the password (throttled, enumeration-safe), then TOTP when enabled, then a session.

For an unknown address the password is still verified (against a dummy hash), the throttle
counts the failure under the address's key, and the answer is the same InvalidCredentials: the
known and the unknown cost the same work and get the same reply.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.adapters import totp
from ciam_auth.adapters.sealing import is_sealed, open_text, seal_text, totp_context
from ciam_auth.adapters.throttle import account_key, client_key
from ciam_auth.context import SOURCE, AuthContext
from ciam_auth.errors import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidToken,
    ReauthenticationFailed,
    ReauthenticationRequired,
)
from ciam_auth.models import Account
from ciam_auth.sessions import repository
from ciam_auth.sessions.store import Session, reauthenticated_until
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, UserSignedIn
from ciam_shared.outbox import stage

MFA_ATTEMPTS = 5


@dataclass(frozen=True)
class Client:
    """Who is asking: the address (throttling only, never stored) and what the session shows."""

    address: str
    device: str
    channel: str
    # The device cookie of an earlier successful sign-in, if the client sent one.
    device_token: str | None = None
    # The brand app whose frame the sign-in happens in (embedding.py): the session is bound to it.
    embed: str | None = None


@dataclass(frozen=True)
class SignInResult:
    session: Session | None = None
    mfa_token: str | None = None  # the password was right; the second step is due
    device_token: str | None = None  # a new device cookie: this client signed in successfully


def normal_email(email: str) -> str:
    return email.strip().lower()


async def check_password(
    session: AsyncSession, ctx: AuthContext, email: str, password: str, client: Client
) -> Account:
    """The account whose password this is, or InvalidCredentials; throttled; upgrades the hash."""
    email = normal_email(email)
    key = account_key(email)
    who = await ctx.throttle.source(key, client_key(client.address), client.device_token)
    await ctx.throttle.check(key, who)
    account = await repository.account_by_email(session, email)
    verdict = await ctx.passwords.verify(account.password_hash if account else None, password)
    if account is None or not verdict.ok:
        await ctx.throttle.failed(key, who)
        raise InvalidCredentials()
    if verdict.needs_rehash:
        account.password_hash = await ctx.passwords.hash(password)
    return account


async def sign_in(
    session: AsyncSession,
    ctx: AuthContext,
    *,
    email: str,
    password: str,
    client: Client,
    current: Session | None = None,
) -> SignInResult:
    """`current`: the session the client already has, if any (re-authentication keeps it)."""
    account = await check_password(session, ctx, email, password, client)
    if account.email_verified_at is None:
        raise EmailNotVerified("Confirm your email address first: use the link or the code.")
    if account.totp_enabled:
        return SignInResult(mfa_token=await pending_second_step(ctx, account.id, "pwd"))
    key = account_key(account.email or str(account.id))
    who = await ctx.throttle.source(key, client_key(client.address), client.device_token)
    device_token = await ctx.throttle.signed_in(key, who)
    return SignInResult(
        session=await start_session(session, ctx, account, client, ["pwd"], current),
        device_token=device_token,
    )


async def complete_second_step(
    session: AsyncSession,
    ctx: AuthContext,
    *,
    mfa_token: str,
    client: Client,
    code: str | None = None,
    recovery_code: str | None = None,
    current: Session | None = None,
) -> SignInResult:
    """The TOTP code (or a recovery code, once) after the password; throttled like passwords."""
    account_id, first_factor = await _mfa_account(ctx, mfa_token)
    account = await repository.lock_account(session, account_id)
    if account is None or account.totp_secret is None:
        raise InvalidToken("The sign-in expired. Start again.")
    key = account_key(account.email or str(account.id))
    who = await ctx.throttle.source(key, client_key(client.address), client.device_token)
    await ctx.throttle.check(key, who)
    ok = False
    if code:
        context = totp_context(account.id)
        secret = open_text(ctx.sealing, account.totp_secret, context)
        step = totp.matching_step(secret, code, after_step=account.totp_last_step or -1)
        if step is not None:
            account.totp_last_step, ok = step, True
            if not is_sealed(account.totp_secret):  # enrolled before secrets were sealed
                account.totp_secret = seal_text(ctx.sealing, secret, context)
    elif recovery_code:
        ok = await repository.use_recovery_code(
            session, account.id, totp.recovery_code_hash(recovery_code), utcnow()
        )
    if not ok:
        await ctx.throttle.failed(key, who)
        await _count_mfa_failure(ctx, mfa_token)
        raise InvalidCredentials()
    await ctx.redis.delete(_mfa_key(ctx, mfa_token))
    device_token = await ctx.throttle.signed_in(key, who)
    return SignInResult(
        session=await start_session(
            session, ctx, account, client, [first_factor, "otp", "mfa"], current
        ),
        device_token=device_token,
    )


async def start_session(
    session: AsyncSession,
    ctx: AuthContext,
    account: Account,
    client: Client,
    amr: list[str],
    current: Session | None = None,
) -> Session:
    """A new session; or, when the client is already signed in to this account, the same one
    with a fresh auth_time (tokens bound to its id stay valid). Signing in as another account
    ends the client's previous session."""
    signed_in = None
    if current is not None and current.account_id == account.id:
        signed_in = await ctx.sessions.reauthenticated(current.id, amr)
    elif current is not None:
        await ctx.sessions.revoke(current.account_id, current.id)
    if signed_in is None:
        signed_in = await ctx.sessions.create(
            account.id, device=client.device, channel=client.channel, amr=amr, embed=client.embed
        )
    event = UserSignedIn(
        subject_id=account.id,
        signed_in_at=signed_in.auth_time,
        channel=signed_in.channel,
        device=signed_in.device,
        methods=amr,
    )
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=ctx.topic_prefix)
    return signed_in


async def reauthenticate(
    session: AsyncSession,
    ctx: AuthContext,
    account: Account,
    password: str,
    client: Client,
    signed_in: Session,
) -> None:
    """Confirm it is the customer before a sensitive change.

    An account with a password: the password (throttled like a sign-in), always. A re-sign-in
    at a linked provider does not replace it: we cannot tell how strong the upstream account
    is (no acr we could rely on), and the password is the customer's own choice for this
    account. A password-less account (social sign-in only): a re-authentication through one
    of its linked identities (`Session.reauth_at`) within `reauth_window_seconds`.
    """
    if account.password_hash is None:
        if reauthenticated_until(signed_in, ctx.settings.reauth_window_seconds) is not None:
            return
        raise ReauthenticationRequired(
            "This account has no password: confirm it is you by signing in again with a "
            "linked provider (/login/social/{provider}?intent=reauth)."
        )
    if account.email is None:  # a password is checked with the address; none: no way to check
        raise ReauthenticationFailed("The password is not correct.")
    try:
        await check_password(session, ctx, account.email, password, client)
    except InvalidCredentials:
        raise ReauthenticationFailed("The password is not correct.") from None


# The pending second step lives in Redis under the hash of a random token the client holds.


def _mfa_key(ctx: AuthContext, token: str) -> str:
    return f"{ctx.redis_prefix}mfa:{hashlib.sha256(token.encode()).hexdigest()}"


async def pending_second_step(ctx: AuthContext, account_id: uuid.UUID, first_factor: str) -> str:
    """The first factor (`pwd`, or `fed` for a social sign-in) is done: a token for the TOTP
    step, which names the first factor in the session's `amr`."""
    token = secrets.token_urlsafe(32)
    key = _mfa_key(ctx, token)
    await ctx.redis.hset(
        key, mapping={"account_id": str(account_id), "first": first_factor, "failures": 0}
    )
    await ctx.redis.expire(key, ctx.settings.mfa_step_seconds)
    return token


async def _mfa_account(ctx: AuthContext, token: str) -> tuple[uuid.UUID, str]:
    raw = await ctx.redis.hmget(_mfa_key(ctx, token), ["account_id", "first"]) if token else None
    if raw is None or raw[0] is None:
        raise InvalidToken("The sign-in expired. Start again.")
    account_id, first = (v.decode() if isinstance(v, bytes) else v for v in raw)
    return uuid.UUID(account_id), first or "pwd"


async def _count_mfa_failure(ctx: AuthContext, token: str) -> None:
    """After a few wrong codes the pending sign-in ends: the password must be given again."""
    key = _mfa_key(ctx, token)
    if int(await ctx.redis.hincrby(key, "failures", 1)) >= MFA_ATTEMPTS:
        await ctx.redis.delete(key)
