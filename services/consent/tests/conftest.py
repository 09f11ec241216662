from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from joserfc.jwk import ECKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_consent.auth import ADMIN, READ, WRITE
from ciam_consent.main import create_app
from ciam_consent.models import HistoryEntry, outbox
from ciam_consent.settings import ConsentSettings
from ciam_shared.db import create_engine
from ciam_shared.testing.issuer import TokenIssuer
from ciam_shared.testing.plugin import running, settings_kwargs


@dataclass
class ConsentApi:
    client: httpx.AsyncClient
    engine: AsyncEngine
    issuer: TokenIssuer
    settings: ConsentSettings

    def customer(self, subject: uuid.UUID) -> dict[str, str]:
        return self._bearer(self.issuer.mint(str(subject), client_id="shop-web"))

    def app(
        self,
        client_id: str = "shop-web",
        brand: str | None = None,
        scopes: tuple[str, ...] = (READ, WRITE),
    ) -> dict[str, str]:
        return self._bearer(self.issuer.app_token(client_id, brand=brand, scopes=scopes))

    def admin(self) -> dict[str, str]:
        return self._bearer(self.issuer.app_token("ops", scopes=(ADMIN,)))

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


def consent_settings(
    url: str, kafka: str, redis: str, prefix: str, issuer: TokenIssuer, **extra: object
) -> ConsentSettings:
    return ConsentSettings(
        **settings_kwargs(url, kafka=kafka, redis=redis, topic_prefix=prefix, token_issuer=issuer),
        receipt_signing_key=ECKey.generate_key("P-256").as_pem(private=True).decode(),
        **extra,
    )


@pytest.fixture
async def consent_api(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[ConsentApi]:
    url = await fresh_database("ciam_consent.migrations")
    settings = consent_settings(
        url, kafka_bootstrap, redis_url, topic_prefix, token_issuer, expiry_sweep_seconds=0.2
    )
    engine = create_engine(url)
    async with running(create_app(settings)) as client:
        yield ConsentApi(client, engine, token_issuer, settings)
    await engine.dispose()
