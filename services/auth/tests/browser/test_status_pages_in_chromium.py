"""The status pages of a data download and of an erasure on a phone, in Polish (the longer
words), while the other services have not answered (auth runs alone here, so their steps stay
"waiting"): every step's state fits its column without a word broken in the middle, every
moment is in the browser's local time, nothing
scrolls sideways, and axe-core finds no serious or critical violation. The journeys to their
end, across the four services, are tests/browser/test_data_rights_journeys.py."""

from __future__ import annotations

from typing import Any

import pytest

from ciam_auth.i18n import text
from ciam_devtools.testing.browser import despite_reloads, screenshot, words_split
from ciam_devtools.testing.servers import LoopbackServer

from .test_account_in_chromium import PASSWORD, accessible, signed_in_context

pytestmark = pytest.mark.browser

STEPS = "tr[data-service] td"


async def test_the_steps_of_an_export_and_an_erasure_keep_their_words_whole_at_375_px(
    browser: Any, auth_server: LoopbackServer
) -> None:
    context = await signed_in_context(browser, auth_server, "pl-PL")
    try:
        page = await context.new_page()
        await page.goto(f"{auth_server.url}/privacy/export")
        async with page.expect_navigation():
            await page.click("form[action='/privacy/export'] button[type=submit]")
        waiting = page.locator("tr[data-state=pending]")
        assert await waiting.count() >= 3  # consent, profile and the notifier never answer
        assert text("pl", "export_step_pending") in await waiting.first.inner_text()
        await despite_reloads(page, lambda: checked(page, "export status"))

        # A new tab: the status page reloads itself, which would cut a navigation short.
        await page.close()
        page = await context.new_page()
        await page.goto(f"{auth_server.url}/account")
        await page.fill("#delete_password", PASSWORD)
        async with page.expect_navigation():
            await page.click("form[action='/account/delete'] button[type=submit]")
        assert "/privacy/deletion/" in page.url, page.url
        assert await page.locator("tr[data-state=pending]").count() == 3
        await despite_reloads(page, lambda: checked(page, "erasure status"))
        await screenshot(page, "deletion-status-pl-375")
    finally:
        await context.close()


async def checked(page: Any, what: str) -> None:
    """Words whole in the steps' table, every moment in local time (auth.js), nothing
    sideways, no serious axe-core violation."""
    assert await words_split(page, STEPS) == [], what
    await page.wait_for_selector("time[data-localised]")
    assert "UTC" not in await page.inner_text("main"), what
    await accessible(page, what)
