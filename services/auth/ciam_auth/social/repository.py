"""Queries of social sign-in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import Account
from ciam_auth.social.models import LinkedIdentity


async def identity_by_subject(
    session: AsyncSession, issuer: str, subject: str
) -> LinkedIdentity | None:
    found: LinkedIdentity | None = await session.scalar(
        select(LinkedIdentity).where(
            LinkedIdentity.issuer == issuer, LinkedIdentity.subject == subject
        )
    )
    return found


async def identities_of(session: AsyncSession, account_id: uuid.UUID) -> Sequence[LinkedIdentity]:
    result = await session.scalars(
        select(LinkedIdentity)
        .where(LinkedIdentity.account_id == account_id)
        .order_by(LinkedIdentity.created_at)
    )
    return result.all()


async def identity_of(
    session: AsyncSession, account_id: uuid.UUID, identity_id: uuid.UUID
) -> LinkedIdentity | None:
    found: LinkedIdentity | None = await session.scalar(
        select(LinkedIdentity)
        .where(LinkedIdentity.account_id == account_id, LinkedIdentity.id == identity_id)
        .with_for_update()
    )
    return found


async def count_identities(session: AsyncSession, account_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).where(LinkedIdentity.account_id == account_id)
    )
    return int(count or 0)


async def account(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await session.get(Account, account_id)


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    found: Account | None = await session.scalar(select(Account).where(Account.email == email))
    return found


async def lock_account(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    found: Account | None = await session.scalar(
        select(Account).where(Account.id == account_id).with_for_update()
    )
    return found


async def lock_account_by_email(session: AsyncSession, email: str) -> Account | None:
    found: Account | None = await session.scalar(
        select(Account).where(Account.email == email).with_for_update()
    )
    return found
