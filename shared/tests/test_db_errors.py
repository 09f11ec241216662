"""A database error, once logged, must not carry the statement's values (password hashes,
token hashes, addresses): the shared engine hides them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ciam_shared.db import create_engine


async def test_a_database_error_does_not_show_the_values(
    fresh_database: Callable[..., Any],
) -> None:
    engine = create_engine(await fresh_database())
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (email TEXT PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO t VALUES (:e)"), {"e": "ada@example.com"})
        with pytest.raises(IntegrityError) as raised:
            async with engine.begin() as connection:
                statement = text("INSERT INTO t VALUES (:e)")
                await connection.execute(statement, {"e": "ada@example.com"})
        assert "ada@example.com" not in str(raised.value)
        assert "hidden" in str(raised.value)
    finally:
        await engine.dispose()
