"""Account use cases: register, verify the address, reset and change the password, change the
address, delete. They stage events and mails in the transaction (mailer.py: sent once it
commits); the edge commits.

Registration and reset answer the same whether or not the address has an account, in the same
time: in the response path they do only what is the same for every address (registration
checks and hashes the password, both queue a job row); what differs (the lookup, the writes,
the mail) runs in a durable job after the answer left (jobs.py).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.accounts import repository
from ciam_auth.accounts.service import email_tokens, mails
from ciam_auth.adapters.throttle import account_key, client_key
from ciam_auth.context import SOURCE, AuthContext
from ciam_auth.datarights.service import deletions
from ciam_auth.errors import InvalidToken, NoAddressForPassword, Throttled
from ciam_auth.i18n import LOCALES
from ciam_auth.models import Account, AccountJob
from ciam_auth.sessions.service import Client, normal_email, reauthenticate
from ciam_auth.sessions.store import Session
from ciam_shared.db import new_id, utcnow
from ciam_shared.events import (
    CloudEvent,
    EmailVerified,
    EventData,
    PasswordChanged,
    UserDeleted,
    UserRegistered,
)
from ciam_shared.outbox import stage

RESET_MAILS_PER_HOUR = 5
VERIFY_MAILS_PER_HOUR = 5
# Job kinds (jobs.py).
REGISTER = "register"
RESET = "reset"
RESEND = "resend-verification"


async def _stage(session: AsyncSession, ctx: AuthContext, event: EventData) -> None:
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=ctx.topic_prefix)


async def register(
    session: AsyncSession,
    ctx: AuthContext,
    *,
    email: str,
    password: str,
    locale: str,
    client: Client,
    channel: str = "web",
) -> None:
    """Check and hash the password and queue a job (the same for every address): whether the
    address is new decides what is written and mailed, in the job, after the answer left."""
    email = normal_email(email)
    await _per_client_limit(ctx, "register", client)
    ctx.passwords.check_policy(password)
    password_hash = await ctx.passwords.hash(password)
    locale = locale if locale in LOCALES else "en"
    ctx.jobs.submit(
        session, REGISTER, email=email, password_hash=password_hash, locale=locale, channel=channel
    )


def install_jobs(ctx: AuthContext) -> None:
    """The handlers of the jobs queued here (main.py calls it once per app)."""

    async def create_or_notify(session: AsyncSession, job: AccountJob) -> None:
        if job.password_hash is None:
            raise ValueError("a registration job without a password hash")
        await _create_or_notify(session, ctx, job.email, job.password_hash, job.locale, job.channel)

    async def reset_mail(session: AsyncSession, job: AccountJob) -> None:
        await _reset_mail(session, ctx, job.email)

    async def resend_mail(session: AsyncSession, job: AccountJob) -> None:
        await _resend_verification_mail(session, ctx, job.email)

    ctx.jobs.on(REGISTER, create_or_notify)
    ctx.jobs.on(RESET, reset_mail)
    ctx.jobs.on(RESEND, resend_mail)


async def _create_or_notify(
    session: AsyncSession,
    ctx: AuthContext,
    email: str,
    password_hash: str,
    locale: str,
    channel: str,
) -> None:
    now = utcnow()
    account = Account(
        id=new_id(), email=email, password_hash=password_hash, created_at=now, locale=locale
    )
    existing = await repository.account_by_email(session, email)
    if existing is not None or not await repository.add_account(session, account):
        owner = existing or await repository.account_by_email(session, email)
        ctx.mailer.stage(
            session, mails.already_registered(ctx, email, owner.locale if owner else locale)
        )
        return
    await _stage(
        session, ctx, UserRegistered(subject_id=account.id, registered_at=now, channel=channel)
    )
    issued = await email_tokens.issue(
        session,
        ctx,
        account_id=account.id,
        purpose=email_tokens.VERIFY,
        email=email,
        ttl_seconds=ctx.settings.verification_ttl_seconds,
    )
    ctx.mailer.stage(session, mails.verification(ctx, email, account.locale, issued, change=False))


async def verify_email(
    session: AsyncSession,
    ctx: AuthContext,
    *,
    token: str | None = None,
    email: str | None = None,
    code: str | None = None,
) -> Account:
    """Redeem a verification (or address-change) link or code; the address is proven."""
    redeemed = await email_tokens.redeem(
        session,
        ctx,
        email_tokens.PROVES_ADDRESS,
        token=token,
        email=normal_email(email) if email else None,
        code=code,
    )
    account = await repository.account_by_id(session, redeemed.account_id, for_update=True)
    if account is None:
        raise InvalidToken("This link or code is not valid (any more).")
    if redeemed.purpose == email_tokens.CHANGE_EMAIL and redeemed.email != account.email:
        if await repository.email_taken(session, redeemed.email):
            raise InvalidToken("This link or code is not valid (any more).")
        account.email = redeemed.email
    now = utcnow()
    account.email_verified_at = now
    await _stage(session, ctx, EmailVerified(subject_id=account.id, verified_at=now))
    return account


async def resend_verification(
    session: AsyncSession, ctx: AuthContext, *, email: str, client: Client
) -> None:
    """ "Send the email again" on the check-your-inbox page: answered at once, the same for
    every address; a job mails a new link and code (retiring the old ones) if the address has
    an unconfirmed registration, at most VERIFY_MAILS_PER_HOUR an hour."""
    email = normal_email(email)
    await _per_client_limit(ctx, "resend", client)
    ctx.jobs.submit(session, RESEND, email=email)


async def _resend_verification_mail(session: AsyncSession, ctx: AuthContext, email: str) -> None:
    account = await repository.account_by_email(session, email)
    if account is None or account.email_verified_at is not None:
        return
    if not await ctx.throttle.limit(
        "verify-mail", account_key(email), limit=VERIFY_MAILS_PER_HOUR, window=3600
    ):
        return
    issued = await email_tokens.issue(
        session,
        ctx,
        account_id=account.id,
        purpose=email_tokens.VERIFY,
        email=email,
        ttl_seconds=ctx.settings.verification_ttl_seconds,
    )
    ctx.mailer.stage(session, mails.verification(ctx, email, account.locale, issued, change=False))


async def request_reset(
    session: AsyncSession, ctx: AuthContext, *, email: str, client: Client
) -> None:
    """Answered at once; a job looks the address up and mails a link and a code if it has an
    account (at most RESET_MAILS_PER_HOUR an hour)."""
    email = normal_email(email)
    await _per_client_limit(ctx, "reset", client)
    ctx.jobs.submit(session, RESET, email=email)


async def _reset_mail(session: AsyncSession, ctx: AuthContext, email: str) -> None:
    account = await repository.account_by_email(session, email)
    under_limit = await ctx.throttle.limit(
        "reset-mail", account_key(email), limit=RESET_MAILS_PER_HOUR, window=3600
    )
    if account is None or not under_limit:
        return
    issued = await email_tokens.issue(
        session,
        ctx,
        account_id=account.id,
        purpose=email_tokens.RESET,
        email=email,
        ttl_seconds=ctx.settings.reset_ttl_seconds,
    )
    ctx.mailer.stage(session, mails.reset(ctx, email, account.locale, issued))


async def confirm_reset(
    session: AsyncSession,
    ctx: AuthContext,
    *,
    new_password: str,
    token: str | None = None,
    email: str | None = None,
    code: str | None = None,
) -> None:
    """Set a new password from a reset link or code: every session ends, the counters clear."""
    ctx.passwords.check_policy(new_password)
    redeemed = await email_tokens.redeem(
        session,
        ctx,
        (email_tokens.RESET,),
        token=token,
        email=normal_email(email) if email else None,
        code=code,
    )
    account = await repository.account_by_id(session, redeemed.account_id, for_update=True)
    if account is None or account.email != redeemed.email:
        raise InvalidToken("This link or code is not valid (any more).")
    now = utcnow()
    account.password_hash = await ctx.passwords.hash(new_password)
    account.password_changed_at = now
    if account.email_verified_at is None:  # the reset mail reached the address: it is proven
        account.email_verified_at = now
        await _stage(session, ctx, EmailVerified(subject_id=account.id, verified_at=now))
    await _stage(
        session, ctx, PasswordChanged(subject_id=account.id, changed_at=now, through_reset=True)
    )
    await ctx.throttle.forget_account(account_key(account.email))
    await ctx.sessions.revoke_all(account.id)


async def change_password(
    session: AsyncSession,
    ctx: AuthContext,
    signed_in: Session,
    *,
    current_password: str,
    new_password: str,
    client: Client,
) -> list[str]:
    """Re-authenticate, set the new password, end every other session (their refresh tokens
    go through the sessions-revoked hook). Returns the ended session ids.

    A password-less account (social sign-in only) sets its first password here, after a
    re-authentication through a linked provider; it then signs in with its address and this
    password too, and may unlink its last identity."""
    account = await _account_of(session, signed_in)
    setting = account.password_hash is None
    await reauthenticate(session, ctx, account, current_password, client, signed_in)
    if setting and account.email is None:
        raise NoAddressForPassword(
            "Add an email address first: a password signs in together with the address."
        )
    ctx.passwords.check_policy(new_password)
    now = utcnow()
    account.password_hash = await ctx.passwords.hash(new_password)
    account.password_changed_at = now
    if setting and account.email_verified_at is None:
        # A social account keeps only an address its provider vouched for (auth-social.md):
        # it is confirmed here, so that the new password can sign in.
        account.email_verified_at = now
        await _stage(session, ctx, EmailVerified(subject_id=account.id, verified_at=now))
    await _stage(session, ctx, PasswordChanged(subject_id=account.id, changed_at=now))
    if account.email is not None:
        ctx.mailer.stage(session, mails.password_changed(ctx, account.email, account.locale))
    return await ctx.sessions.revoke_all(account.id, except_session_id=signed_in.id)


async def request_email_change(
    session: AsyncSession,
    ctx: AuthContext,
    signed_in: Session,
    *,
    password: str,
    new_email: str,
    client: Client,
) -> None:
    """Mail a link and a code to the new address; the change happens when it is redeemed. An
    address that already has an account gets the "you already have an account" mail instead,
    so the answer never tells whether it is taken."""
    account = await _account_of(session, signed_in)
    await reauthenticate(session, ctx, account, password, client, signed_in)
    new_email = normal_email(new_email)
    if new_email == account.email:
        return
    owner = await repository.account_by_email(session, new_email)
    if owner is not None:
        ctx.mailer.stage(session, mails.already_registered(ctx, new_email, owner.locale))
        return
    issued = await email_tokens.issue(
        session,
        ctx,
        account_id=account.id,
        purpose=email_tokens.CHANGE_EMAIL,
        email=new_email,
        ttl_seconds=ctx.settings.verification_ttl_seconds,
    )
    ctx.mailer.stage(
        session, mails.verification(ctx, new_email, account.locale, issued, change=True)
    )
    if account.email is not None:
        ctx.mailer.stage(session, mails.email_change_requested(ctx, account.email, account.locale))


async def delete_account(
    session: AsyncSession, ctx: AuthContext, signed_in: Session, *, password: str, client: Client
) -> str:
    """Re-authenticate, delete the account and what hangs on it, stage UserDeleted for the other
    services, end every session. The deletion is tracked until every service confirmed its
    erasure (datarights): returns the token of its status page."""
    account = await _account_of(session, signed_in)
    await reauthenticate(session, ctx, account, password, client, signed_in)
    token = await deletions.open_request(session, ctx, account, account.locale)
    await repository.delete_account(session, account.id)
    await _stage(session, ctx, UserDeleted(subject_id=account.id, deleted_at=utcnow()))
    await ctx.sessions.revoke_all(account.id)
    if account.email is not None:
        await ctx.throttle.succeeded(account_key(account.email), client_key(client.address))
    return token


async def account_of(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    """The signed-in customer's account; None when it was deleted meanwhile."""
    return await repository.account_by_id(session, account_id)


async def recovery_codes_left(session: AsyncSession, account_id: uuid.UUID) -> int:
    return await repository.recovery_codes_left(session, account_id)


def unproven_registration(account: Account) -> bool:
    """A password registration whose address nobody has proven (no link or code redeemed).
    Whoever typed that password may not own the address: a customer who proves the address
    (a provider that vouches for it) takes it over (docs/security.md, "Pre-hijacking")."""
    return account.password_hash is not None and account.email_verified_at is None


async def discard_unproven_registration(
    session: AsyncSession, ctx: AuthContext, account: Account
) -> None:
    """The address was proven by someone else: the unproven registration goes, with its
    password, its mailed links and codes, its recovery codes and its sessions, and the other
    services forget its subject (UserDeleted). The caller holds the account's row lock."""
    if not unproven_registration(account):
        raise ValueError("only an unproven password registration is discarded")
    await repository.delete_account(session, account.id)
    await _stage(session, ctx, UserDeleted(subject_id=account.id, deleted_at=utcnow()))
    await ctx.sessions.revoke_all(account.id)


async def _per_client_limit(ctx: AuthContext, action: str, client: Client) -> None:
    """Registrations (each costs a hash and a mail) and reset requests per client address."""
    window = ctx.settings.throttle_window_seconds
    limit = ctx.settings.throttle_requests_per_client
    if not await ctx.throttle.limit(action, client_key(client.address), limit=limit, window=window):
        raise Throttled(window)


async def _account_of(session: AsyncSession, signed_in: Session) -> Account:
    account = await repository.account_by_id(session, signed_in.account_id, for_update=True)
    if account is None:  # deleted in another session a moment ago
        raise InvalidToken("The account no longer exists.")
    return account
