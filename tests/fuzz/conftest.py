"""Shared pieces of the fuzz runs (ciam_devtools.testing.fuzz): one service per module, started
once for all its operations, on its own database and topics; a summary of what each run reached
at the end of the session (`-rA` not needed)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ciam_devtools.testing.fuzz import Target
from ciam_devtools.testing.plugin import DatabaseFactory

REPORTS: dict[str, Target] = {}


@pytest.fixture(scope="module")
def module_prefix() -> str:
    return f"fz{secrets.token_hex(4)}."


@pytest.fixture(scope="module")
async def module_database(
    database_factory: DatabaseFactory,
) -> AsyncIterator[Callable[[str], Any]]:
    """`await module_database("ciam_x.migrations")`: a migrated database for the module."""
    urls: list[str] = []

    async def make(migrations_package: str) -> str:
        url = await database_factory.create(migrations_package)
        urls.append(url)
        return url

    yield make
    for url in urls:
        await database_factory.drop(url)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for service, target in REPORTS.items():
        terminalreporter.write_line(f"fuzz {service}: {target.report()}")


# Settings enough to build an app for its OpenAPI document at collection (nothing connects).
STATIC: dict[str, Any] = {
    "database_url": "postgresql+asyncpg://fuzz/fuzz",
    "environment": "test",
    "token_issuer": "http://127.0.0.1:9",
}
