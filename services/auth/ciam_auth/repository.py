from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import Account


async def email_taken(session: AsyncSession, email: str) -> bool:
    found = await session.scalar(select(Account.id).where(Account.email == email))
    return found is not None


async def add_account(session: AsyncSession, account: Account) -> None:
    session.add(account)
    await session.flush()
