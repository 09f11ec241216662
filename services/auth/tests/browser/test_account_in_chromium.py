"""The signed-in pages in the system's Chromium: two-step verification set-up shows a QR code
(allowed by the CSP as a data: image, so it really renders), the recovery codes download as a
.txt file holding exactly the codes shown, deleting the account ends on a page that says so,
and the provider's consent screen has the same design; axe-core finds no serious or critical
violation on any of them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from ciam_auth.adapters import totp
from ciam_auth.models import Account
from ciam_auth.oidc.service import clients
from ciam_auth.sessions.store import COOKIE
from ciam_devtools.testing.browser import PHONE, axe_violations, overflows_horizontally, screenshot
from ciam_devtools.testing.servers import LoopbackServer
from ciam_shared.db import new_id, unit_of_work, utcnow

pytestmark = pytest.mark.browser

PASSWORD = "a long and unusual passphrase 42"


async def signed_in_context(browser: Any, server: LoopbackServer, locale: str) -> Any:
    """A browser with the session of a new, confirmed account (made directly: the journey
    through registration is tests/browser/test_privacy_journey.py)."""
    context_ = server.app.state.runtime.parts.context
    account = Account(
        id=new_id(),
        email=f"{new_id().hex[:8]}@example.com",
        password_hash=await context_.passwords.hash(PASSWORD),
        created_at=utcnow(),
        email_verified_at=utcnow(),
        locale=locale[:2],
    )
    async with context_.db() as session, session.begin():
        session.add(account)
    signed_in = await context_.sessions.create(
        account.id, device="test", channel="web", amr=["pwd"]
    )
    context = await browser.new_context(viewport=PHONE, locale=locale)
    await context.add_cookies(
        [{"name": COOKIE, "value": signed_in.secret, "url": server.url, "secure": True}]
    )
    return context


async def accessible(page: Any, what: str) -> None:
    assert not await overflows_horizontally(page), f"{what} scrolls sideways"
    violations = await axe_violations(page)
    assert not violations, f"{what}: " + "; ".join(map(str, violations))


async def test_totp_set_up_with_a_qr_code_recovery_codes_as_a_file_then_deletion(
    browser: Any, auth_server: LoopbackServer, tmp_path: Path
) -> None:
    context = await signed_in_context(browser, auth_server, "en-GB")
    try:
        page = await context.new_page()
        await page.goto(f"{auth_server.url}/account")
        await accessible(page, "/account")
        async with page.expect_navigation():
            await page.click("form[action='/account/totp'] button")
        qr = page.locator("img.qr")
        # Decoded and drawn: a QR code the CSP refused would have no natural width.
        assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
        await accessible(page, "TOTP set-up")
        await screenshot(page, "totp-setup-en-375")

        secret = await page.locator("main code").first.inner_text()
        await page.fill("#code", totp.hotp(secret, totp.current_step()))
        async with page.expect_navigation():
            await page.click("form[action='/account/totp/confirm'] button")
        shown = [c.strip() for c in await page.locator("ul.codes code").all_inner_texts()]
        assert len(shown) == 10
        await accessible(page, "recovery codes")
        async with page.expect_download() as started:
            await page.click("a[download]")
        download = await started.value
        assert download.suggested_filename == "recovery-codes.txt"
        saved = tmp_path / "codes.txt"
        await download.save_as(saved)
        assert re.findall(r"^[a-z0-9-]{14}$", saved.read_text(), re.M) == shown

        await page.goto(f"{auth_server.url}/account")
        await page.fill("#delete_password", PASSWORD)
        async with page.expect_navigation():
            await page.click("form[action='/account/delete'] button")
        # Deletion ends on the erasure's status page, not a bare sign-in page.
        assert "/privacy/deletion/" in page.url
        assert await page.locator("h1").inner_text() == "Account deletion"
        await accessible(page, "after deletion")
    finally:
        await context.close()


@pytest.mark.parametrize("locale", ["pl-PL", "en-GB"])
async def test_the_consent_screen_shares_the_design_and_passes_axe_at_375_px(
    browser: Any, auth_server: LoopbackServer, locale: str
) -> None:
    """The provider's consent screen (oidc/templates) extends the same layout as auth's own
    pages: the style sheet loads under its CSP, it fits a phone, axe finds nothing serious."""
    context_ = auth_server.app.state.runtime.parts.context
    async with unit_of_work(context_.db) as session:
        client, _ = await clients.register(
            session,
            clients.ClientSpec(
                name="Partner Quiz",
                brand="acme",
                redirect_uris=["https://quiz.example.com/cb"],
                post_logout_redirect_uris=[],
                scopes=["openid", "email"],
                purposes=[],
                grant_types=["authorization_code"],
                auth_method="client_secret_basic",
                first_party=False,
            ),
            topic_prefix=context_.settings.topic_prefix,
        )
    context = await signed_in_context(browser, auth_server, locale)
    try:
        page = await context.new_page()
        query = urlencode(
            {
                "client_id": client.client_id,
                "redirect_uri": "https://quiz.example.com/cb",
                "response_type": "code",
                "scope": "openid email",
                "state": "s",
                "nonce": "n",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
                "ui_locales": locale[:2],
            }
        )
        await page.goto(f"{auth_server.url}/authorize?{query}")
        assert await page.locator("form[action='/authorize/consent']").count() == 1
        # The shared style sheet applied: the header carries the brand colour.
        colour = await page.evaluate(
            "() => getComputedStyle(document.querySelector('.site-header')).backgroundColor"
        )
        assert colour == "rgb(29, 78, 216)"
        await accessible(page, f"consent screen ({locale})")
    finally:
        await context.close()
