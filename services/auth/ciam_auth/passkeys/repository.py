"""Every query of the passkey capability."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import Account
from ciam_auth.passkeys.models import Passkey
from ciam_auth.social.models import LinkedIdentity


async def of_account(session: AsyncSession, account_id: uuid.UUID) -> list[Passkey]:
    rows = await session.scalars(
        select(Passkey).where(Passkey.account_id == account_id).order_by(Passkey.created_at)
    )
    return list(rows)


async def by_credential_id(session: AsyncSession, credential_id: str) -> Passkey | None:
    return await session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))


async def lock_by_credential_id(session: AsyncSession, credential_id: str) -> Passkey | None:
    """With the row locked: two concurrent sign-ins with one credential compare the counter
    one after the other."""
    return await session.scalar(
        select(Passkey).where(Passkey.credential_id == credential_id).with_for_update()
    )


async def one_of_account(
    session: AsyncSession, account_id: uuid.UUID, passkey_id: uuid.UUID
) -> Passkey | None:
    return await session.scalar(
        select(Passkey).where(Passkey.id == passkey_id, Passkey.account_id == account_id)
    )


async def account(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await session.get(Account, account_id)


async def lock_account(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    """Locked: two removals at once cannot each think the other passkey is still there."""
    return await session.scalar(select(Account).where(Account.id == account_id).with_for_update())


async def count_of_account(session: AsyncSession, account_id: uuid.UUID) -> int:
    found = await session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.account_id == account_id)
    )
    return int(found or 0)


async def linked_identities(session: AsyncSession, account_id: uuid.UUID) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(LinkedIdentity)
        .where(LinkedIdentity.account_id == account_id)
    )
    return int(found or 0)


def add(session: AsyncSession, passkey: Passkey) -> None:
    session.add(passkey)


async def remove(session: AsyncSession, passkey: Passkey) -> None:
    await session.delete(passkey)


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == email))
