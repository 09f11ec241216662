"""Passwordless sign-in by email: a one-time code, and the same code as a link.

The request is enumeration-safe as registration and reset are: it commits a job row (the same
insert for every address) and answers; the job looks the address up and, for a confirmed
account, issues the code (an `email_tokens` row of purpose `sign_in`: hashes only, single
use, a new one retires the old, burnt after `code_attempts` wrong tries) and stages the mail.
An unknown address gets nothing, in the same time. Typing the code goes through the password
throttle (same counters, same keys); the link carries 256 random bits and needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.accounts.service import email_tokens
from ciam_auth.adapters.mail import Mail
from ciam_auth.adapters.throttle import Throttled, account_key, client_key
from ciam_auth.context import AuthContext
from ciam_auth.errors import InvalidToken
from ciam_auth.i18n import text
from ciam_auth.models import AccountJob
from ciam_auth.passkeys import repository
from ciam_auth.sessions.service import Client, normal_email, pending_second_step, start_session
from ciam_auth.sessions.store import Session
from ciam_auth.transactions import CommitThenRefuse

SIGN_IN = "sign_in"  # the email token's purpose and the job's kind
JOB = "sign-in-code"
# RFC 8176 has no value for a code sent by email; "other values MAY be used" (section 2).
EMAIL_AMR = "email"


def install_jobs(ctx: AuthContext) -> None:
    async def code_mail(session: AsyncSession, job: AccountJob) -> None:
        await _code_mail(session, ctx, job.email)

    ctx.jobs.on(JOB, code_mail)


async def request_code(
    session: AsyncSession, ctx: AuthContext, *, email: str, locale: str, client: Client
) -> None:
    """Answered at once, the same for every address; at most `throttle_requests_per_client`
    requests per client address and window (each may cost a mail)."""
    window = ctx.settings.throttle_window_seconds
    limit = ctx.settings.throttle_requests_per_client
    if not await ctx.throttle.limit(
        "email-code", client_key(client.address), limit=limit, window=window
    ):
        raise Throttled(window)
    ctx.jobs.submit(session, JOB, email=normal_email(email)[:320], locale=locale)


async def _code_mail(session: AsyncSession, ctx: AuthContext, email: str) -> None:
    account = await repository.account_by_email(session, email)
    # At most 5 code mails per address an hour, like reset mails: no mail bombing.
    under_limit = await ctx.throttle.limit("code-mail", account_key(email), limit=5, window=3600)
    if account is None or account.email_verified_at is None or not under_limit:
        return
    ttl = ctx.settings.email_code_ttl_seconds
    issued = await email_tokens.issue(
        session, ctx, account_id=account.id, purpose=SIGN_IN, email=email, ttl_seconds=ttl
    )
    locale = account.locale
    query = urlencode({"token": issued.token, "ui_locales": locale})
    body = text(
        locale,
        "email_code_body",
        code=issued.code,
        link=ctx.link(f"/login/email-code/confirm?{query}"),
        minutes=max(1, ttl // 60),
    )
    mail = Mail(to=email, subject=text(locale, "email_code_subject"), body=body, valid_seconds=ttl)
    ctx.mailer.stage(session, mail)


@dataclass(frozen=True)
class CodeSignIn:
    session: Session | None = None
    mfa_token: str | None = None  # the account has TOTP: the second step is due
    device_token: str | None = None


async def sign_in(
    session: AsyncSession,
    ctx: AuthContext,
    client: Client,
    *,
    email: str | None = None,
    code: str | None = None,
    token: str | None = None,
    current: Session | None = None,
) -> CodeSignIn:
    """The code (with the address) or the link's token, once. The code is counted by the
    password throttle: a wrong one is a failed sign-in of that address."""
    if token:
        found = await email_tokens.redeem(session, ctx, (SIGN_IN,), token=token)
        key = account_key(found.email)
        who = await ctx.throttle.source(key, client_key(client.address), client.device_token)
    else:
        address = normal_email(email or "")
        key = account_key(address)
        who = await ctx.throttle.source(key, client_key(client.address), client.device_token)
        await ctx.throttle.check(key, who)
        try:
            found = await email_tokens.redeem(
                session, ctx, (SIGN_IN,), email=address, code=(code or "").strip()[:12]
            )
        except (InvalidToken, CommitThenRefuse):
            await ctx.throttle.failed(key, who)
            raise
    account = await repository.lock_account(session, found.account_id)
    if account is None or account.email != found.email:  # deleted, or the address changed
        raise InvalidToken("This link or code is not valid (any more).")
    if account.totp_enabled:  # the mailbox is one factor: TOTP still follows
        return CodeSignIn(mfa_token=await pending_second_step(ctx, account.id, EMAIL_AMR))
    device_token = await ctx.throttle.signed_in(key, who)
    signed_in = await start_session(session, ctx, account, client, [EMAIL_AMR], current)
    return CodeSignIn(session=signed_in, device_token=device_token)
