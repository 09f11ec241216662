"""Auth's pages for signed-out customers, rendered by the system's Chromium: each fits a phone
(375 px, no sideways scrolling) and a desktop, in Polish and English, with no serious or
critical accessibility violation found by axe-core."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ciam_auth.main import create_app
from ciam_auth.settings import AuthSettings
from ciam_devtools.devstack import free_port
from ciam_devtools.testing.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    overflows_horizontally,
    screenshot,
)
from ciam_devtools.testing.plugin import settings_kwargs
from ciam_devtools.testing.servers import LoopbackServer

pytestmark = pytest.mark.browser

PAGES = ["/login", "/register", "/reset-password"]


@pytest.fixture
async def auth_url(
    fresh_database: Any, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> AsyncIterator[str]:
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
        yield server.url
    finally:
        await server.stop()


@pytest.mark.parametrize("locale", ["pl-PL", "en-GB"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
async def test_signed_out_pages_fit_and_pass_axe(
    browser: Any, auth_url: str, locale: str, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport, locale=locale)
    try:
        page = await context.new_page()
        for path in PAGES:
            response = await page.goto(auth_url + path)
            assert response is not None and response.status == 200, path
            language = await page.evaluate("() => document.documentElement.lang")
            assert language == locale[:2], (path, language)
            assert not await overflows_horizontally(page), f"{path} scrolls sideways at {viewport}"
            violations = await axe_violations(page)
            assert not violations, f"{path} ({locale}): " + "; ".join(map(str, violations))
            name = path.strip("/").replace("/", "-")
            await screenshot(page, f"{name}-{locale[:2]}-{viewport['width']}")
    finally:
        await context.close()
