"""A brand app's page embeds /privacy?client_id=X in an iframe, in the system's Chromium: the
frame shows the customer's settings in the brand's look when the page's origin is one the app
registered, and Chromium refuses the frame (frame-ancestors) on any other origin. On a
registered origin of another site (`localhost` framing `127.0.0.1`), the browser does not send
auth's SameSite=Lax session cookie to the frame: it offers the sign-in in the frame (a
partitioned session: test_embedded_session_in_chromium.py) or in a new window. The themed
page at 375 px, in Polish and English, passes axe-core and is photographed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from ciam_auth.sessions.store import COOKIE
from ciam_devtools.testing.browser import PHONE, axe_violations, overflows_horizontally, screenshot

from .conftest import Privacy, loopback_socket, served
from .test_embedding import brand_app

pytestmark = pytest.mark.browser


def embedding_page(src: str) -> Starlette:
    """The brand app's own page, with the privacy page in a frame."""

    async def page(_: Request) -> HTMLResponse:
        return HTMLResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>'
            f'</head><body><h1>Shop</h1><iframe id="privacy" title="Privacy" src="{src}" '
            'width="375" height="700"></iframe></body></html>'
        )

    return Starlette(routes=[Route("/", page)])


async def frame_of(page: Any) -> Any:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        frames = [f for f in page.frames if f != page.main_frame]
        if frames and frames[0].url not in ("", "about:blank"):
            return frames[0]
        await page.wait_for_timeout(50)
    raise AssertionError("the iframe never navigated")


async def test_the_frame_loads_on_a_registered_origin_and_is_refused_elsewhere(
    privacy: Privacy, browser: Any
) -> None:
    registered_sock, registered = loopback_socket()
    other_sock, other = loopback_socket()
    # The same server by name: another site than auth's 127.0.0.1 (ports do not make sites).
    cross_site = registered.replace("127.0.0.1", "localhost")
    shop = await brand_app(privacy, origins=(registered, cross_site))
    src = f"{privacy.auth_url}/privacy?client_id={shop}"
    account = await privacy.sign_in()
    secret = privacy.http.cookies[COOKIE]
    context = await browser.new_context(viewport={"width": 800, "height": 900}, locale="en-GB")
    await context.add_cookies(
        [{"name": COOKIE, "value": secret, "url": privacy.auth_url, "secure": True}]
    )
    app = embedding_page(src)
    async with served(app, registered_sock), served(app, other_sock):
        page = await context.new_page()
        await page.goto(registered)
        frame = await frame_of(page)
        await frame.wait_for_selector("h1")
        assert await frame.inner_text(".site-header .brand") == "Acme Shop"
        assert (
            await frame.evaluate(
                "() => getComputedStyle(document.querySelector('.site-header')).backgroundColor"
            )
            == "rgb(11, 93, 30)"
        )
        # The customer's settings, with their forms, in the frame (auth and this page are on
        # one site here, so the browser sends the session cookie to the frame).
        assert await frame.locator("article.purpose form").count() > 0
        await screenshot(page, "privacy-embedded-en")
        # A click in the frame: the form posts from the frame (auth's origin, with its token),
        # so the CSRF checks hold, and the change is recorded; the frame stays themed.
        await frame.click("#purpose-analytics form button")
        await frame.wait_for_selector('#purpose-analytics dd[data-state="granted"]')
        assert await privacy.consents_at_consent_service(account) == {"analytics": "granted"}
        assert f"client_id={shop}" in frame.url
        assert await frame.inner_text(".site-header .brand") == "Acme Shop"

        elsewhere = await context.new_page()
        await elsewhere.goto(cross_site)
        frame = await frame_of(elsewhere)
        await frame.wait_for_selector("h1")
        assert await frame.inner_text(".site-header .brand") == "Acme Shop"
        assert await frame.locator("article.purpose").count() == 0
        # Offered: the sign-in in the frame (test_embedded_session_in_chromium.py) or in a
        # new window.
        here = frame.locator("[data-sign-in-here]")
        assert (await here.get_attribute("href") or "").startswith("/login?return_to=")
        window = frame.locator('a[target="_blank"][href^="/login?return_to="]')
        assert await window.count() == 1

        refused = await context.new_page()
        blocked: list[str] = []
        refused.on("console", lambda m: blocked.append(m.text))
        await refused.goto(other)
        frame = await frame_of(refused)
        assert frame.url.startswith("chrome-error://"), frame.url
        deadline = time.monotonic() + 10
        while not any("frame-ancestors" in m for m in blocked) and time.monotonic() < deadline:
            await refused.wait_for_timeout(50)
        assert any("frame-ancestors" in m for m in blocked), blocked
    await context.close()

    # The themed page itself on a phone, in both languages: readable, accessible, photographed.
    for locale in ("pl", "en"):
        phone = await browser.new_context(viewport=PHONE, locale=locale)
        await phone.add_cookies(
            [{"name": COOKIE, "value": secret, "url": privacy.auth_url, "secure": True}]
        )
        page = await phone.new_page()
        await page.goto(f"{src}&ui_locales={locale}")
        assert await page.evaluate("() => document.documentElement.lang") == locale
        assert not await overflows_horizontally(page)
        violations = await axe_violations(page)
        assert not violations, "; ".join(map(str, violations))
        await screenshot(page, f"privacy-branded-{locale}-375")
        await phone.close()
