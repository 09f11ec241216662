"""`make run` keeps each service's state in SQLite unless DATABASE_URL is set, so every
service's migrations must run there too (batch mode for what SQLite cannot ALTER in place).
The rest of the suite runs on PostgreSQL and would not notice."""

from __future__ import annotations

from pathlib import Path

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
def test_migrations_upgrade_and_downgrade_on_sqlite(package: str, tmp_path: Path) -> None:
    config = alembic_config(package, f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
