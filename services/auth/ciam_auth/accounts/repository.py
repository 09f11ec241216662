"""Every query of the accounts capability: accounts, email tokens, recovery codes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import Account, EmailToken, RecoveryCode


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    found: Account | None = await session.scalar(select(Account).where(Account.email == email))
    return found


async def account_by_id(
    session: AsyncSession, account_id: uuid.UUID, *, for_update: bool = False
) -> Account | None:
    query = select(Account).where(Account.id == account_id)
    if for_update:
        query = query.with_for_update()
    found: Account | None = await session.scalar(query)
    return found


async def email_taken(session: AsyncSession, email: str) -> bool:
    found = await session.scalar(select(Account.id).where(Account.email == email))
    return found is not None


async def add_account(session: AsyncSession, account: Account) -> bool:
    """Insert; False (and nothing written) if the address was taken meanwhile."""
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def delete_account(session: AsyncSession, account_id: uuid.UUID) -> None:
    await session.execute(delete(EmailToken).where(EmailToken.account_id == account_id))
    await session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    await session.execute(delete(Account).where(Account.id == account_id))


async def add_email_token(session: AsyncSession, token: EmailToken) -> None:
    session.add(token)
    await session.flush()


async def retire_email_tokens(
    session: AsyncSession, account_id: uuid.UUID, purposes: tuple[str, ...], now: datetime
) -> None:
    """A new link or code makes the earlier ones of the same purpose unusable."""
    await session.execute(
        update(EmailToken)
        .where(
            EmailToken.account_id == account_id,
            EmailToken.purpose.in_(purposes),
            EmailToken.used_at.is_(None),
        )
        .values(used_at=now)
    )


async def live_token_by_hash(
    session: AsyncSession, token_hash: str, purposes: tuple[str, ...], now: datetime
) -> EmailToken | None:
    found: EmailToken | None = await session.scalar(
        select(EmailToken)
        .where(
            EmailToken.token_hash == token_hash,
            EmailToken.purpose.in_(purposes),
            EmailToken.used_at.is_(None),
            EmailToken.expires_at > now,
        )
        .with_for_update()
    )
    return found


async def live_token_for_email(
    session: AsyncSession, email: str, purposes: tuple[str, ...], now: datetime
) -> EmailToken | None:
    found: EmailToken | None = await session.scalar(
        select(EmailToken)
        .where(
            EmailToken.email == email,
            EmailToken.purpose.in_(purposes),
            EmailToken.used_at.is_(None),
            EmailToken.expires_at > now,
        )
        .order_by(EmailToken.created_at.desc())
        .limit(1)
    )
    return found


async def lock_token(session: AsyncSession, token: EmailToken) -> bool:
    """Lock the token's row; False if it was used meanwhile (a concurrent redemption)."""
    await session.refresh(token, with_for_update=True)
    return token.used_at is None


async def count_wrong_code(session: AsyncSession, token_id: uuid.UUID, limit: int) -> None:
    """One more wrong code; at `limit` the token is burnt (used_at set)."""
    token = await session.get(EmailToken, token_id, with_for_update=True)
    if token is None or token.used_at is not None:
        return
    token.attempts += 1
    if token.attempts >= limit:
        token.used_at = token.created_at
    await session.flush()


async def replace_recovery_codes(
    session: AsyncSession, account_id: uuid.UUID, hashes: list[str]
) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    session.add_all(RecoveryCode(account_id=account_id, code_hash=h) for h in hashes)
    await session.flush()


async def recovery_codes_left(session: AsyncSession, account_id: uuid.UUID) -> int:
    rows = await session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(rows.all())
