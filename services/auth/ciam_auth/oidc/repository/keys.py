"""Signing keys at rest (sealed private keys, public JWKs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import SigningKey


async def signing_keys(session: AsyncSession) -> Sequence[SigningKey]:
    """Every stored key, oldest first."""
    return (await session.scalars(select(SigningKey).order_by(SigningKey.created_at))).all()


async def add_signing_key(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    await session.flush()


async def retire_active_keys(session: AsyncSession, now: datetime) -> None:
    await session.execute(
        update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now)
    )
