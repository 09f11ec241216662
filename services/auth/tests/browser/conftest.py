"""Auth served on a loopback port for Chromium (the browser needs a real socket)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ciam_auth.main import create_app
from ciam_auth.settings import AuthSettings
from ciam_devtools.devstack import free_port
from ciam_devtools.testing.plugin import settings_kwargs
from ciam_devtools.testing.servers import LoopbackServer


@pytest.fixture
async def auth_server(
    fresh_database: Any, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> AsyncIterator[LoopbackServer]:
    port = free_port()
    settings = AuthSettings(
        issuer=f"http://127.0.0.1:{port}",
        key_encryption_secret=secrets.token_urlsafe(32),
        consent_url=f"http://127.0.0.1:{free_port()}",
        smtp_port=free_port(),
        **settings_kwargs(
            await fresh_database("ciam_auth.migrations"),
            kafka=kafka_bootstrap,
            redis=redis_url,
            topic_prefix=topic_prefix,
        ),
    )
    server = LoopbackServer(lambda: create_app(settings), port)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def auth_url(auth_server: LoopbackServer) -> str:
    return auth_server.url
