"""Replicas of the consent service start together on one new database: each seeds the
default catalogue at start, and both must start (real PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ciam_consent.repository import count_purposes
from ciam_consent.service import catalogue
from ciam_shared.db import create_engine


async def test_a_replica_seeding_while_another_seeds_finds_its_catalogue(
    fresh_database: Callable[..., Any],
) -> None:
    url = await fresh_database("ciam_consent.migrations")
    engine = create_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with sessions() as first, first.begin():
            assert await catalogue.seed(first) == len(catalogue.default_catalogue())

            async def second_replica() -> int:
                async with sessions() as second, second.begin():
                    return await catalogue.seed(second)

            # The second replica seeds while the first has not committed yet.
            seeding = asyncio.create_task(second_replica())
            await _until_someone_waits_for_a_lock(engine)
        assert await seeding == 0  # it waited, then found the first replica's catalogue
        async with sessions() as session:
            assert await count_purposes(session) == len(catalogue.default_catalogue())
    finally:
        await engine.dispose()


async def _until_someone_waits_for_a_lock(engine: AsyncEngine) -> None:
    async with asyncio.timeout(20):
        while True:
            async with engine.connect() as connection:
                waiting = await connection.scalar(
                    text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                )
            if waiting:
                return
            await asyncio.sleep(0.05)
