"""An auth service running in-process, for tests that need its relay to publish."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_auth.main import create_app
from ciam_auth.settings import AuthSettings
from ciam_devtools.testing.plugin import running, settings_kwargs


@asynccontextmanager
async def running_auth(
    fresh_database: Any, kafka: str, redis: str, prefix: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = await fresh_database("ciam_auth.migrations")
    settings = AuthSettings(
        key_encryption_secret=secrets.token_urlsafe(32),
        **settings_kwargs(url, kafka=kafka, redis=redis, topic_prefix=prefix),
    )
    app = create_app(settings)
    async with running(app):
        yield app.state.runtime.sessions
