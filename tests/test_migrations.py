"""Every service's migrations go down to nothing and up again on PostgreSQL, the one dialect:
a downgrade that leaves a table, type or index behind fails the second upgrade."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from ciam_shared.db import create_engine
from ciam_shared.db.migrations import alembic_config

PACKAGES = [
    "ciam_auth.migrations",
    "ciam_consent.migrations",
    "ciam_notifier.migrations",
    "ciam_profile.migrations",
]


@pytest.mark.parametrize("package", PACKAGES)
async def test_migrations_upgrade_downgrade_and_upgrade_again_on_postgres(
    package: str, fresh_database: Callable[..., Any]
) -> None:
    config = alembic_config(package, await fresh_database())

    def up_down_up() -> None:
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        command.upgrade(config, "head")

    # Alembic's env runs its own event loop: off this test's loop, in a thread.
    await asyncio.to_thread(up_down_up)


async def test_two_replicas_upgrading_one_new_database_at_once_both_succeed(
    fresh_database: Callable[..., Any],
) -> None:
    """Replicas started together each migrate at start (`<PREFIX>MIGRATE_ON_START`): one
    upgrades, the other waits for it and finds the database at head. Two processes, as two
    replicas are (alembic's `context` is global to a process: not two threads). Every
    service's migrations run through the same `run_env`: one service shows it."""
    package = "ciam_consent.migrations"
    url = await fresh_database()
    script = "import sys; from ciam_shared.db.migrations import upgrade; upgrade(*sys.argv[1:3])"
    replicas = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, package, url, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    outcomes = await asyncio.gather(*(replica.communicate() for replica in replicas))
    errors = [
        err.decode()[-2000:] for (_, err), r in zip(outcomes, replicas, strict=True) if r.returncode
    ]
    assert errors == []
    assert await _versions(url) == sorted(
        ScriptDirectory.from_config(alembic_config(package, url)).get_heads()
    )


async def _versions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return sorted(row[0] for row in rows)
    finally:
        await engine.dispose()
