"""What the privacy pages read and change in auth's own tables (this is auth's data): the
account's address for the double opt-in mail, and the apps the customer signed in to or
allowed (consent-screen grants, refresh tokens) with their registrations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import Account, ClientGrant, OAuthClient, RefreshToken
from ciam_shared.db import utcnow


@dataclass(frozen=True)
class ConnectedApp:
    client_id: str
    name: str
    brand: str | None
    # What it may do: the scopes allowed on the consent screen, else those of its tokens.
    scopes: list[str]
    purposes: list[str]
    allowed_at: datetime | None
    last_sign_in: datetime | None
    # Refresh tokens still usable (not used, revoked or expired).
    active_tokens: int


async def address_of(session: AsyncSession, account_id: uuid.UUID) -> tuple[str, str] | None:
    """The account's verified address and the language of its mails."""
    account = await session.get(Account, account_id)
    if account is None or account.email is None or account.email_verified_at is None:
        return None
    return account.email, account.locale


async def connected_apps(session: AsyncSession, account_id: uuid.UUID) -> list[ConnectedApp]:
    """Apps with a consent-screen grant or a refresh token still usable. A sign-in that left
    neither (a first-party app without `offline_access`) is not on record in auth's tables."""
    grants = {
        g.client_id: g
        for g in await session.scalars(
            select(ClientGrant).where(ClientGrant.account_id == account_id)
        )
    }
    now = utcnow()
    active = func.count().filter(
        RefreshToken.used_at.is_(None),
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
    )
    tokens = {
        row.client_id: row
        for row in await session.execute(
            select(
                RefreshToken.client_id,
                func.max(RefreshToken.issued_at).label("last"),
                active.label("active"),
                func.string_agg(RefreshToken.scope, " ").label("scopes"),
            )
            .where(RefreshToken.account_id == account_id)
            .group_by(RefreshToken.client_id)
        )
    }
    ids = sorted(grants.keys() | tokens.keys())
    if not ids:
        return []
    clients = {
        c.client_id: c
        for c in await session.scalars(select(OAuthClient).where(OAuthClient.client_id.in_(ids)))
    }
    apps = []
    for client_id in ids:
        client = clients.get(client_id)
        if client is None:
            continue  # deleted: its tokens and grants went with it
        grant, used = grants.get(client_id), tokens.get(client_id)
        if grant is None and (used is None or not used.active):
            continue  # disconnected, or every token of it ended: nothing connects it now
        scopes = grant.scopes if grant else sorted(set((used.scopes or "").split()) if used else [])
        apps.append(
            ConnectedApp(
                client_id=client_id,
                name=client.name,
                brand=client.brand,
                scopes=[s for s in scopes if s],
                purposes=list(client.purposes),
                allowed_at=grant.granted_at if grant else None,
                last_sign_in=used.last if used else None,
                active_tokens=int(used.active) if used else 0,
            )
        )
    return sorted(apps, key=lambda a: a.name.lower())


async def disconnect(
    session: AsyncSession, account_id: uuid.UUID, client_id: str
) -> list[uuid.UUID]:
    """End the app's refresh tokens for this account and forget its consent-screen grant (the
    next sign-in asks again). Returns the token families ended, so their access tokens are
    refused too once the transaction commits."""
    ended = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.account_id == account_id,
            RefreshToken.client_id == client_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .returning(RefreshToken.family_id)
    )
    await session.execute(
        delete(ClientGrant).where(
            ClientGrant.account_id == account_id, ClientGrant.client_id == client_id
        )
    )
    return sorted({family for (family,) in ended})
