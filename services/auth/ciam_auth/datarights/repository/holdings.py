"""What auth holds about an account: the queries of auth's own part of an export."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import Account, ClientGrant, OAuthClient, RecoveryCode, RefreshToken
from ciam_auth.passkeys.models import Passkey
from ciam_auth.social.models import LinkedIdentity


async def account(session: AsyncSession, subject_id: uuid.UUID) -> Account | None:
    return await session.get(Account, subject_id)


async def recovery_codes_left(session: AsyncSession, subject_id: uuid.UUID) -> int:
    rows = await session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.account_id == subject_id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(rows.all())


async def linked_identities(
    session: AsyncSession, subject_id: uuid.UUID
) -> Sequence[LinkedIdentity]:
    query = select(LinkedIdentity).where(LinkedIdentity.account_id == subject_id)
    return (await session.scalars(query.order_by(LinkedIdentity.created_at))).all()


async def app_grants(
    session: AsyncSession, subject_id: uuid.UUID
) -> Sequence[tuple[ClientGrant, str | None]]:
    """The consent-screen grants, with the app's name while it is registered."""
    query = (
        select(ClientGrant, OAuthClient.name)
        .outerjoin(OAuthClient, OAuthClient.client_id == ClientGrant.client_id)
        .where(ClientGrant.account_id == subject_id)
        .order_by(ClientGrant.granted_at)
    )
    return [(grant, name) for grant, name in (await session.execute(query)).all()]


async def refresh_tokens(session: AsyncSession, subject_id: uuid.UUID) -> Sequence[RefreshToken]:
    query = select(RefreshToken).where(RefreshToken.account_id == subject_id)
    return (await session.scalars(query)).all()


async def passkeys(session: AsyncSession, subject_id: uuid.UUID) -> Sequence[Passkey]:
    query = select(Passkey).where(Passkey.account_id == subject_id)
    return (await session.scalars(query.order_by(Passkey.created_at))).all()
