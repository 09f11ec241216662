"""Every service's migrations go down to nothing and up again on PostgreSQL, the one dialect:
a downgrade that leaves a table, type or index behind fails the second upgrade."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command

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
