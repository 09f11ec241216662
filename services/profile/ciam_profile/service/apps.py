"""Which purposes each brand app declared.

INTERIM: registered here by an admin (`PUT /v1/apps/{client_id}`). The auth service (issue 4)
will register brand-app clients with their purposes and publish them as events; a subscriber
then fills this same table and the endpoint goes away. Tokens do not carry purposes: the
declared purposes are a registration, not something a token asserts about itself.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile import repository
from ciam_profile.cache import ProfileCache
from ciam_profile.catalogue import PurposeCatalogue
from ciam_profile.errors import AppNotFound, UnknownPurpose
from ciam_shared.db import utcnow


async def register_app(
    session: AsyncSession,
    cache: ProfileCache,
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
    await cache.invalidate(session, [], apps=[client_id])
    return declared


async def app_purposes(session: AsyncSession, client_id: str) -> list[str]:
    purposes = await repository.app_purposes(session, client_id)
    if purposes is None:
        raise AppNotFound(f"No registration of app `{client_id}`.")
    return purposes
