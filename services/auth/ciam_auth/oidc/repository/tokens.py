"""Refresh tokens, stored as SHA-256 hashes of the token (the token itself is never stored).
The rotation of a refresh, one statement, is `rotation.py`."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import RefreshToken
from ciam_shared.db import utcnow


def refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def new_refresh_token(
    session: AsyncSession,
    *,
    family_id: uuid.UUID,
    client_id: str,
    account_id: uuid.UUID,
    session_id: str | None,
    scope: str,
    auth_time: datetime,
    ttl_s: int,
) -> str:
    token = "rt_" + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        RefreshToken(
            token_hash=refresh_hash(token),
            family_id=family_id,
            client_id=client_id,
            account_id=account_id,
            session_id=session_id,
            scope=scope,
            auth_time=auth_time,
            issued_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    await session.flush()
    return token


async def use_refresh_token(session: AsyncSession, token: str) -> RefreshToken | None:
    """Mark a live refresh token used and return it; None if it is not live. The conditional
    UPDATE makes this single-use under concurrency: of twenty racing refreshes one wins."""
    now = utcnow()
    row = (
        await session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == refresh_hash(token),
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(RefreshToken)
        )
    ).scalar_one_or_none()
    return row


async def find_refresh_token(session: AsyncSession, token: str) -> RefreshToken | None:
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == refresh_hash(token))
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_for_sessions(
    session: AsyncSession, account_id: uuid.UUID, session_ids: list[str] | None
) -> list[uuid.UUID]:
    """Revoke the refresh tokens bound to these sessions (None: every token of the account);
    returns the families touched, so their access tokens can be refused too."""
    where = [RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None)]
    if session_ids is not None:
        where.append(RefreshToken.session_id.in_(session_ids))
    rows = await session.execute(
        update(RefreshToken)
        .where(*where)
        .values(revoked_at=utcnow())
        .returning(RefreshToken.family_id)
    )
    return sorted({r for (r,) in rows})
