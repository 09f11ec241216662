"""A brand app's page on another site than auth (`http://localhost:<port>` framing auth on
`http://127.0.0.1:<port>`: another host, so another site) frames the privacy page, in the
system's Chromium with third-party cookies blocked (`--test-third-party-cookie-phaseout`): no
cookie of auth reaches the frame but a partitioned one. The customer signs in inside the frame
and grants a consent there; the frame's session lives in a cookie partitioned under the
app's site, and a top-level visit to auth is not signed in by it. In a frame where the browser
keeps no cookie at all (a profile that blocks every cookie, as a browser without partitioned
cookies that blocks third-party ones does to the frame), the sign-in ends on a page that opens
the settings in a new window, not in a loop."""

from __future__ import annotations

import html as markup
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from ciam_auth.embedding import EMBED_SESSION_COOKIE
from ciam_auth.sessions.store import COOKIE
from ciam_devtools.testing.browser import CHROMIUM_FLAGS, chromium_path, screenshot

from .conftest import Privacy, loopback_socket, served
from .test_embedded_session import PASSWORD, customer
from .test_embedding import brand_app
from .test_embedding_in_chromium import frame_of

pytestmark = pytest.mark.browser

# Only a partitioned cookie may reach a cross-site frame (Chromium's switch for the state
# browsers are moving to; this Chromium also blocks them by default headless).
BLOCK_THIRD_PARTY = "--test-third-party-cookie-phaseout"


@pytest.fixture
async def strict_browser() -> AsyncIterator[Any]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=[*CHROMIUM_FLAGS, BLOCK_THIRD_PARTY],
        )
        try:
            yield browser
        finally:
            await browser.close()


def shop_page(src: str, *, sandbox: str | None = None) -> Starlette:
    """The brand app's own page with the privacy page in a frame (375 px wide: a phone's)."""
    attribute = f' sandbox="{markup.escape(sandbox)}"' if sandbox is not None else ""

    async def page(_: Request) -> HTMLResponse:
        return HTMLResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>'
            "<style>body{font-family:sans-serif;margin:16px}iframe{border:1px solid #ccc}"
            "</style></head><body><h1>Acme Shop: your account</h1>"
            f'<iframe id="privacy" title="Privacy settings" src="{markup.escape(src)}"'
            f'{attribute} width="400" height="760"></iframe></body></html>'
        )

    return Starlette(routes=[Route("/", page)])


async def test_a_customer_signs_in_inside_a_frame_on_another_site_and_grants_a_consent(
    privacy: Privacy, strict_browser: Any
) -> None:
    sock, url = loopback_socket()
    shop_url = url.replace("127.0.0.1", "localhost")  # another site than auth's 127.0.0.1
    shop = await brand_app(privacy, origins=(shop_url,))
    account = await customer(privacy, "framed@example.com")
    src = f"{privacy.auth_url}/privacy?client_id={shop}&ui_locales=en"
    context = await strict_browser.new_context(
        viewport={"width": 900, "height": 900}, locale="en-GB"
    )
    async with served(shop_page(src), sock):
        page = await context.new_page()
        await page.goto(shop_url)
        frame = await frame_of(page)
        await frame.wait_for_selector("[data-sign-in-here]")
        assert await frame.inner_text(".site-header .brand") == "Acme Shop"
        await frame.click("[data-sign-in-here]")
        await frame.wait_for_selector("#password")
        await screenshot(page, "privacy-embedded-signin-en")
        await frame.fill("#email", "framed@example.com")
        await frame.fill("#password", PASSWORD)
        await frame.click("form button[type=submit]")
        # Signed in inside the frame: the customer's settings, in the app's look.
        await frame.wait_for_selector("#purpose-analytics form button")
        assert await frame.inner_text(".site-header .brand") == "Acme Shop"
        await frame.click("#purpose-analytics form button")
        await frame.wait_for_selector('#purpose-analytics dd[data-state="granted"]')
        assert await privacy.consents_at_consent_service(account) == {"analytics": "granted"}
        assert f"client_id={shop}" in frame.url
        await screenshot(page, "privacy-embedded-cross-site-en")

        # The browser holds the frame's session partitioned under the app's site, and nothing
        # else of auth's sessions.
        jar = {c["name"]: c for c in await context.cookies()}
        assert COOKIE not in jar
        embedded = jar[EMBED_SESSION_COOKIE]
        assert embedded["secure"] and embedded["httpOnly"] and embedded["sameSite"] == "None"
        assert embedded.get("partitionKey") == "http://localhost", embedded

        # Top level, auth does not know the customer: the frame's session stays in the frame.
        top = await context.new_page()
        await top.goto(f"{privacy.auth_url}/privacy?client_id={shop}")
        assert "/login" in top.url
        assert await top.locator("#password").count() == 1
    await context.close()


@pytest.fixture
async def cookieless_browser(tmp_path: Path) -> AsyncIterator[Any]:
    """A Chromium whose profile blocks every cookie (the content setting "block all"): what
    a browser without partitioned cookies that blocks third-party ones does to a frame."""
    (tmp_path / "Default").mkdir()
    blocked = {"profile": {"default_content_setting_values": {"cookies": 2}}}
    (tmp_path / "Default" / "Preferences").write_text(json.dumps(blocked))
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path),
            executable_path=chromium_path(),
            headless=True,
            args=[*CHROMIUM_FLAGS, BLOCK_THIRD_PARTY],
            viewport={"width": 900, "height": 900},
            locale="pl-PL",
        )
        try:
            yield context
        finally:
            await context.close()


async def test_a_frame_that_keeps_no_cookie_offers_a_new_window_instead_of_a_loop(
    privacy: Privacy, cookieless_browser: Any
) -> None:
    sock, url = loopback_socket()
    shop_url = url.replace("127.0.0.1", "localhost")
    shop = await brand_app(privacy, origins=(shop_url,))
    await customer(privacy, "framed@example.com")
    src = f"{privacy.auth_url}/privacy?client_id={shop}&ui_locales=pl"
    async with served(shop_page(src), sock):
        page = await cookieless_browser.new_page()
        await page.goto(shop_url)
        frame = await frame_of(page)
        await frame.click("[data-sign-in-here]")
        await frame.wait_for_selector("#password")
        await frame.fill("#email", "framed@example.com")
        await frame.fill("#password", PASSWORD)
        await frame.click("form button[type=submit]")
        # Not "the form expired" and the form again (a loop): the way out.
        way_out = frame.locator("[data-embed-blocked]")
        await way_out.wait_for()
        assert await frame.inner_text("h1") == "Ta przeglądarka nie zachowuje logowania w tej ramce"
        assert await cookieless_browser.cookies() == []
        await screenshot(page, "privacy-embedded-blocked-pl")
        async with page.expect_popup() as opened:
            await way_out.click()
        window = await opened.value
        await window.wait_for_load_state()
        # A window of its own, top level: the privacy page for the app, which asks to sign in.
        assert window.url.startswith(f"{privacy.auth_url}/login")
        assert f"client_id%3D{shop}" in window.url
