from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_consent.auth import ADMIN, READ, WRITE
from ciam_consent.main import create_app
from ciam_consent.models import (
    ConsentRecord,
    HistoryEntry,
    Purpose,
    PurposeVersion,
    Subject,
    outbox,
    processed_events,
)
from ciam_consent.settings import ConsentSettings
from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, delete_app, register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, running, settings_kwargs
from ciam_shared.db import create_engine
from ciam_shared.events import CloudEvent, EventData, decode

# The brand app the tests' app tokens name, registered at "auth" (its apps topic) with every
# purpose of the catalogue, before the service starts.
SHOP = "shop-web"


@dataclass
class ConsentApi:
    client: httpx.AsyncClient
    engine: AsyncEngine
    issuer: TokenIssuer
    settings: ConsentSettings
    service: Any

    def customer(self, subject: uuid.UUID) -> dict[str, str]:
        """The customer on auth's own pages: every customer scope, every purpose and brand."""
        return self._bearer(self.issuer.customer_token(str(subject)))

    def through(self, client_id: str, subject: uuid.UUID, scopes: Sequence[str]) -> dict[str, str]:
        """The customer's token held by a third-party app (authorization code)."""
        token = self.issuer.customer_token(str(subject), client_id=client_id, scopes=scopes)
        return self._bearer(token)

    def app(
        self,
        client_id: str = "shop-web",
        brand: str | None = None,
        scopes: tuple[str, ...] = (READ, WRITE),
    ) -> dict[str, str]:
        return self._bearer(self.issuer.app_token(client_id, brand=brand, scopes=scopes))

    def admin(self) -> dict[str, str]:
        return self._bearer(self.issuer.app_token("ops", scopes=(ADMIN,)))

    @property
    def apps(self) -> Any:
        return self.service.state.runtime.parts.apps

    async def declare(
        self,
        client_id: str,
        purposes: Sequence[str],
        name: str = "",
        brand: str | None = "acme",
    ) -> None:
        """Register (or re-register) an app as auth does; returns once the service knows it."""
        kafka, prefix = self.settings.kafka_bootstrap_servers, self.settings.topic_prefix
        await register_app(
            kafka, client_id, purposes, prefix=prefix, name=name or None, brand=brand
        )

        async def known() -> bool:
            app = self.apps.get(client_id)
            return (
                app is not None and sorted(app.purposes) == sorted(purposes) and app.brand == brand
            )

        await eventually(known)

    async def delete_app(self, client_id: str) -> None:
        """Auth deletes the app; returns once the service no longer knows it."""
        kafka, prefix = self.settings.kafka_bootstrap_servers, self.settings.topic_prefix
        await delete_app(kafka, client_id, prefix=prefix)

        async def gone() -> bool:
            return self.apps.get(client_id) is None

        await eventually(gone)

    @staticmethod
    def _bearer(token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    async def count(self, what: object) -> int:
        async with self.engine.connect() as connection:
            query = select(func.count()).select_from(what)  # type: ignore[arg-type]
            return int(await connection.scalar(query) or 0)

    async def outbox_types(self) -> list[str]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(outbox.c.event_type).order_by(outbox.c.seq))
            return [r.event_type for r in rows]

    async def history_count(self) -> int:
        return await self.count(HistoryEntry.__table__)

    async def snapshot(self) -> dict[str, int]:
        """How many rows each table of the service holds: equal before and after a refused
        request proves that nothing was written."""
        tables = {
            "subjects": Subject.__table__,
            "purposes": Purpose.__table__,
            "purpose_versions": PurposeVersion.__table__,
            "records": ConsentRecord.__table__,
            "history": HistoryEntry.__table__,
            "outbox": outbox,
        }
        return {name: await self.count(table) for name, table in tables.items()}

    async def staged(self) -> list[CloudEvent[EventData]]:
        """Every event in the outbox, decoded, in staging order (tombstones left out)."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(outbox).order_by(outbox.c.seq))
            return [decode(r.headers, r.payload) for r in rows if r.payload is not None]

    async def processed(self, event_id: uuid.UUID) -> bool:
        """Whether a consumer of the service recorded `event_id` as processed."""
        async with self.engine.connect() as connection:
            query = select(func.count()).where(processed_events.c.event_id == event_id)
            return bool(await connection.scalar(query))


def consent_settings(
    url: str, kafka: str, redis: str, prefix: str, issuer: TokenIssuer, **extra: object
) -> ConsentSettings:
    return ConsentSettings(
        **settings_kwargs(url, kafka=kafka, redis=redis, topic_prefix=prefix, token_issuer=issuer),
        receipt_signing_key=ECKey.generate_key("P-256").as_pem(private=True).decode(),
        **extra,
    )


@pytest.fixture
def consent_extra_settings() -> dict[str, object]:
    """Settings a test module overrides by redefining this fixture (e.g. the expiry sweep)."""
    return {"expiry_sweep_seconds": 0.2}


@pytest.fixture
async def consent_api(
    consent_extra_settings: dict[str, object],
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[ConsentApi]:
    url = await fresh_database("ciam_consent.migrations")
    settings = consent_settings(
        url, kafka_bootstrap, redis_url, topic_prefix, token_issuer, **consent_extra_settings
    )
    engine = create_engine(url)
    await register_app(kafka_bootstrap, SHOP, CATALOGUE_PURPOSES, prefix=topic_prefix, name="Shop")
    service = create_app(settings)
    async with running(service) as client:
        yield ConsentApi(client, engine, token_issuer, settings, service)
    await engine.dispose()
