"""OIDC clients (brand apps, declared service clients) and customers' grants to them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ciam_auth.models import ClientGrant, OAuthClient, RefreshToken


async def client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    return await session.get(OAuthClient, client_id)


REGISTERED_AT = select(OAuthClient.created_at).where(
    OAuthClient.client_id == bindparam("client_id")
)


async def registered_at(autocommit: AsyncEngine, client_id: str) -> datetime | None:
    """When the client was registered, None if it is not: one statement on an autocommit
    connection (no BEGIN/COMMIT round trips, no ORM), for introspection's hot path."""
    async with autocommit.connect() as connection:
        found = (await connection.execute(REGISTERED_AT, {"client_id": client_id})).scalar()
    return found if isinstance(found, datetime) else None


async def all_clients(session: AsyncSession) -> list[OAuthClient]:
    return list((await session.scalars(select(OAuthClient).order_by(OAuthClient.created_at))).all())


async def add_client(session: AsyncSession, new: OAuthClient) -> None:
    session.add(new)
    await session.flush()


async def saved(session: AsyncSession) -> None:
    """Write the changes made to loaded rows now (their events are staged after)."""
    await session.flush()


async def insert_if_absent(
    session: AsyncSession,
    client_id: str,
    *,
    secret_hash: str,
    now: datetime,
    columns: Mapping[str, object],
) -> bool:
    """Insert a client unless its id exists (INSERT .. ON CONFLICT DO NOTHING, which waits for
    a concurrent insert of the same id to commit); whether this call inserted it."""
    created = await session.scalar(
        postgresql.insert(OAuthClient)
        .values(
            client_id=client_id,
            secret_hash=secret_hash,
            created_at=now,
            updated_at=now,
            **columns,
        )
        .on_conflict_do_nothing(index_elements=[OAuthClient.client_id])
        .returning(OAuthClient.client_id)
    )
    return created is not None


async def locked(session: AsyncSession, client_id: str) -> OAuthClient:
    """The client's row, locked for this transaction and read afresh (not from the identity
    map). NoResultFound if it is gone."""
    rows = await session.scalars(
        select(OAuthClient)
        .where(OAuthClient.client_id == client_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return rows.one()


async def delete_client(session: AsyncSession, gone: OAuthClient, now: datetime) -> None:
    """Delete a client with its customers' grants, revoking every refresh token it holds."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.client_id == gone.client_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(delete(ClientGrant).where(ClientGrant.client_id == gone.client_id))
    await session.delete(gone)
    await session.flush()


async def consent_grant(
    session: AsyncSession, account_id: uuid.UUID, client_id: str
) -> ClientGrant | None:
    """What the customer has allowed this client so far (the consent screen's record)."""
    return await session.get(ClientGrant, (account_id, client_id))


async def add_consent_grant(session: AsyncSession, grant: ClientGrant) -> None:
    session.add(grant)
    await session.flush()
