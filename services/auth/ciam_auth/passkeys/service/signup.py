"""Registration with a passkey only: an account that never has a password.

Enumeration-safe as the password registration is. The options need no lookup (a new account
id is drawn for every request and becomes the passkey's user handle); the response is checked
(origin, RP id, user verification, the challenge of this sign-up) and answered 202 after
committing a job row, the same insert for every address. The job creates the account with
its passkey and mails the usual confirmation link and code, or, for an address that has an
account, the "someone tried to register" notice: the same answer and the same work either
way. The account signs in once its address is confirmed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.accounts import repository as accounts
from ciam_auth.accounts.service import email_tokens, mails
from ciam_auth.adapters.throttle import Throttled, client_key
from ciam_auth.context import SOURCE, AuthContext
from ciam_auth.models import Account, AccountJob
from ciam_auth.passkeys import repository
from ciam_auth.passkeys.challenges import SIGN_UP, Challenge
from ciam_auth.passkeys.service.ceremonies import (
    NewPasskey,
    challenges,
    creation_options,
    verify_new_passkey,
)
from ciam_auth.sessions.service import Client, normal_email
from ciam_shared.db import after_commit, new_id, utcnow
from ciam_shared.events import CloudEvent, EventData, PasskeyAdded, UserRegistered
from ciam_shared.outbox import stage

JOB = "register-passkey"


async def options(ctx: AuthContext, *, email: str, locale: str, client: Client) -> dict[str, Any]:
    window = ctx.settings.throttle_window_seconds
    limit = ctx.settings.throttle_requests_per_client
    if not await ctx.throttle.limit(
        "passkey-sign-up", client_key(client.address), limit=limit, window=window
    ):
        raise Throttled(window)
    email = normal_email(email)
    account_id = uuid.uuid4()
    challenge = await challenges(ctx).issue(
        SIGN_UP, account_id=str(account_id), email=email, locale=locale
    )
    return creation_options(ctx, challenge, user_name=email, user_id=account_id)


async def register(session: AsyncSession, ctx: AuthContext, response: dict[str, Any]) -> None:
    """Check the new passkey and queue the account's creation (answered 202 by the edge)."""

    def refusal(challenge: Challenge) -> str | None:
        if challenge.account_id is None or challenge.email is None:
            return "a sign-up challenge without its account"
        return None

    challenge, new = await verify_new_passkey(session, ctx, response, SIGN_UP, refusal)
    now = utcnow()
    session.add(
        AccountJob(
            id=new_id(),
            kind=JOB,
            email=challenge.email,
            locale=challenge.locale or "en",
            channel="web",
            payload={"account_id": challenge.account_id, **new.as_json()},
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
    )
    after_commit(session, ctx.jobs.worker.wake)


def install_jobs(ctx: AuthContext) -> None:
    async def create(session: AsyncSession, job: AccountJob) -> None:
        await _create(session, ctx, job)

    ctx.jobs.on(JOB, create)


async def _stage(session: AsyncSession, ctx: AuthContext, event: EventData) -> None:
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=ctx.topic_prefix)


async def _create(session: AsyncSession, ctx: AuthContext, job: AccountJob) -> None:
    data = job.payload or {}
    if "account_id" not in data:
        raise ValueError("a passkey sign-up job without its credential")
    now = utcnow()
    account = Account(
        id=uuid.UUID(data["account_id"]),
        email=job.email,
        password_hash=None,
        created_at=now,
        locale=job.locale,
    )
    existing = await accounts.account_by_email(session, job.email)
    if existing is not None or not await accounts.add_account(session, account):
        owner = existing or await accounts.account_by_email(session, job.email)
        locale = owner.locale if owner else job.locale
        ctx.mailer.stage(session, mails.already_registered(ctx, job.email, locale))
        return
    new = NewPasskey.from_json(data)
    repository.add(session, new.passkey(account.id, "", now))
    synced = new.synced
    await _stage(session, ctx, UserRegistered(subject_id=account.id, registered_at=now))
    await _stage(session, ctx, PasskeyAdded(subject_id=account.id, added_at=now, synced=synced))
    issued = await email_tokens.issue(
        session,
        ctx,
        account_id=account.id,
        purpose=email_tokens.VERIFY,
        email=job.email,
        ttl_seconds=ctx.settings.verification_ttl_seconds,
    )
    ctx.mailer.stage(session, mails.verification(ctx, job.email, job.locale, issued, change=False))
