"""Which purposes each brand app declared, answered from memory like the consent view.

INTERIM: registered here by an admin (`PUT /v1/apps/{client_id}`), kept in the
`app_registrations` table and in memory (`RegisteredPurposes`: loaded at start, updated on
commit in this process, reloaded every few seconds for the other replicas). The auth service
(issue 4) registers brand-app clients with their purposes and publishes them on a compacted
topic; the SDK's `BrandAppView` follows it and has the same `purposes_of(client_id)`: the swap
is to build that view in main.py instead of `RegisteredPurposes` and drop the endpoint. Tokens
do not carry purposes: what an app declared is a registration, not its own claim.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_profile import repository
from ciam_profile.catalogue import PurposeCatalogue
from ciam_profile.errors import AppNotFound, UnknownPurpose
from ciam_shared.db import after_commit, utcnow

log = logging.getLogger(__name__)


class DeclaredPurposes(Protocol):
    def purposes_of(self, client_id: str) -> frozenset[str]:
        """The purposes an app declared; none for an unknown app (fail closed)."""
        ...


class RegisteredPurposes:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, refresh_seconds: float):
        self._sessions = sessions
        self._refresh_seconds = refresh_seconds
        self._apps: dict[str, frozenset[str]] = {}

    def purposes_of(self, client_id: str) -> frozenset[str]:
        return self._apps.get(client_id, frozenset())

    def learn(self, client_id: str, purposes: list[str]) -> None:
        self._apps[client_id] = frozenset(purposes)

    async def load(self) -> None:
        async with self._sessions() as session:
            self._apps = {
                client: frozenset(purposes)
                for client, purposes in (await repository.all_apps(session)).items()
            }

    async def refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            try:
                await self.load()
            except Exception:
                log.exception("reloading the app registrations failed; keeping the last ones")


async def register_app(
    session: AsyncSession,
    registry: RegisteredPurposes,
    catalogue: PurposeCatalogue,
    client_id: str,
    purposes: list[str],
) -> list[str]:
    unknown = sorted(p for p in set(purposes) if p not in catalogue)
    if unknown:
        raise UnknownPurpose(
            f"Not in the purpose catalogue: {', '.join(unknown)}.", purposes=unknown
        )
    declared = sorted(set(purposes))
    await repository.save_app(session, client_id, declared, utcnow())
    after_commit(session, lambda: registry.learn(client_id, declared))
    return declared


async def app_purposes(session: AsyncSession, client_id: str) -> list[str]:
    purposes = await repository.app_purposes(session, client_id)
    if purposes is None:
        raise AppNotFound(f"No registration of app `{client_id}`.")
    return purposes
