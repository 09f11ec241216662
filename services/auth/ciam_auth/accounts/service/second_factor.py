"""TOTP enrollment: a pending secret, confirmed by a first code (which returns the recovery
codes, shown once and kept only as hashes); disabling needs the password."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.accounts import repository
from ciam_auth.adapters import totp
from ciam_auth.adapters.sealing import open_text, seal_text, totp_context
from ciam_auth.context import SOURCE, AuthContext
from ciam_auth.errors import InvalidCredentials, TotpStateError
from ciam_auth.models import Account
from ciam_auth.sessions.service import Client, reauthenticate
from ciam_auth.sessions.store import Session
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, SecondFactorChanged
from ciam_shared.outbox import stage


@dataclass(frozen=True)
class Enrollment:
    secret: str
    otpauth_uri: str


async def begin(session: AsyncSession, ctx: AuthContext, signed_in: Session) -> Enrollment:
    account = await _account(session, signed_in)
    if account.totp_enabled:
        raise TotpStateError("TOTP is already enabled; disable it first to enroll again.")
    secret = totp.new_secret()
    account.totp_pending_secret = seal_text(ctx.sealing, secret, totp_context(account.id))
    uri = totp.otpauth_uri(
        secret, account=account.email or str(account.id), issuer=ctx.settings.totp_issuer
    )
    return Enrollment(secret=secret, otpauth_uri=uri)


async def pending_enrollment(
    session: AsyncSession, ctx: AuthContext, account_id: uuid.UUID
) -> Enrollment | None:
    """The enrollment awaiting its first code, shown again after a wrong one; None if none is."""
    account = await repository.account_by_id(session, account_id)
    sealed = account.totp_pending_secret if account else None
    if account is None or sealed is None:
        return None
    secret = open_text(ctx.sealing, sealed, totp_context(account.id))
    uri = totp.otpauth_uri(
        secret, account=account.email or str(account.id), issuer=ctx.settings.totp_issuer
    )
    return Enrollment(secret=secret, otpauth_uri=uri)


async def confirm(
    session: AsyncSession, ctx: AuthContext, signed_in: Session, *, code: str
) -> list[str]:
    """Enable TOTP with the first code from the app; returns the new recovery codes."""
    account = await _account(session, signed_in)
    if account.totp_pending_secret is None:
        raise TotpStateError("No TOTP enrollment is pending.")
    secret = open_text(ctx.sealing, account.totp_pending_secret, totp_context(account.id))
    step = totp.matching_step(secret, code)
    if step is None:
        raise InvalidCredentials()
    now = utcnow()
    account.totp_secret = seal_text(ctx.sealing, secret, totp_context(account.id))
    account.totp_pending_secret = None
    account.totp_enabled_at, account.totp_last_step = now, step
    codes = totp.new_recovery_codes()
    await repository.replace_recovery_codes(
        session, account.id, [totp.recovery_code_hash(c) for c in codes]
    )
    await _changed(session, ctx, account, enabled=True)
    return codes


async def disable(
    session: AsyncSession, ctx: AuthContext, signed_in: Session, *, password: str, client: Client
) -> None:
    account = await _account(session, signed_in)
    await reauthenticate(session, ctx, account, password, client, signed_in)
    if not account.totp_enabled:
        raise TotpStateError("TOTP is not enabled.")
    account.totp_secret = account.totp_pending_secret = None
    account.totp_enabled_at = account.totp_last_step = None
    await repository.replace_recovery_codes(session, account.id, [])
    await _changed(session, ctx, account, enabled=False)


async def _changed(
    session: AsyncSession, ctx: AuthContext, account: Account, *, enabled: bool
) -> None:
    event = SecondFactorChanged(subject_id=account.id, changed_at=utcnow(), enabled=enabled)
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=ctx.topic_prefix)


async def _account(session: AsyncSession, signed_in: Session) -> Account:
    account = await repository.account_by_id(session, signed_in.account_id, for_update=True)
    if account is None:
        raise TotpStateError("The account no longer exists.")
    return account
