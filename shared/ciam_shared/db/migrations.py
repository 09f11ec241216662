"""Alembic, driven from code: each service keeps its migrations in `<package>/migrations`."""

from __future__ import annotations

import asyncio
import zlib
from importlib import resources
from typing import Any, Literal

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import MetaData, func, pool, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(migrations_package: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files(migrations_package)))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(migrations_package: str, database_url: str, revision: str = "head") -> None:
    """Blocking: call from a thread (`asyncio.to_thread`) inside a running loop."""
    command.upgrade(alembic_config(migrations_package, database_url), revision)


async def upgrade_async(migrations_package: str, database_url: str) -> None:
    await asyncio.to_thread(upgrade, migrations_package, database_url)


def _render_item(type_: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    # Our UTC type decorator is plain DateTime(timezone=True) in DDL: render it so, no import.
    from ciam_shared.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Replicas of a service start together and each upgrades its database at start: one at a time
# (a transaction-level advisory lock, per database), so the second finds the first's revision
# instead of creating the same tables again.
MIGRATION_LOCK = zlib.crc32(b"ciam-migrations")


def run_env(context: EnvironmentContext, metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            compare_type=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            # Before alembic reads the current revision, which it does in this transaction.
            connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(main())
