"""Auth's pages for signed-out customers, rendered by the system's Chromium: each fits a phone
(375 px, no sideways scrolling) and a desktop, in Polish and English, with no serious or
critical accessibility violation found by axe-core."""

from __future__ import annotations

from typing import Any

import pytest

from ciam_devtools.testing.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    overflows_horizontally,
    screenshot,
)

pytestmark = pytest.mark.browser

PAGES = ["/login", "/register", "/reset-password", "/verify-email", "/signed-out"]
# The few screenshots docs/services/privacy.md shows: (page, language, width).
SHOTS = {("login", "en", 1280), ("login", "pl", 375), ("signed-out", "en", 375)}


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
            if (name, locale[:2], viewport["width"]) in SHOTS:
                await screenshot(page, f"{name}-{locale[:2]}-{viewport['width']}")
    finally:
        await context.close()
