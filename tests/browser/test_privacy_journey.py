"""A customer's journey in the system's Chromium, across services: register, confirm the address
with the code from the caught mail, sign in, open /privacy, give and then withdraw a consent
with clicks on the page, and see the withdrawal reach a brand app's ConsentView running in
another process. In Polish and English, at 1280 and 375 px; axe-core on every page of the
journey (no serious or critical violation), no page scrolling sideways; and the same withdrawal
done with the keyboard alone (Tab, Enter, Space). Then the double opt-in of email marketing: a
click on the page mails a link, the link from the caught mail is opened and confirmed, and the
grant shows on the page and reaches the app."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ciam_auth.i18n import text
from ciam_devtools.testing.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    overflows_horizontally,
    screenshot,
)
from ciam_devtools.testing.mail import links, newest_mail_id, wait_for_mail
from ciam_devtools.testing.plugin import DatabaseFactory
from ciam_devtools.testing.privacy_stack import PrivacyStack, Subscriber, privacy_stack

pytestmark = pytest.mark.browser

PASSWORD = "a long and unusual passphrase 42"
PURPOSE = "analytics"  # on consent, no double opt-in: one click grants, one withdraws
# The few screenshots docs/services/privacy.md shows: (page, language, width).
SHOTS = {
    ("register", "en", 1280),
    ("verify", "pl", 375),
    ("privacy", "en", 1280),
    ("privacy", "pl", 375),
    ("privacy", "en", 375),
    ("privacy", "pl", 1280),
    ("account", "en", 1280),
    ("account", "pl", 375),
    ("optin-confirm", "pl", 375),
    ("optin-done", "en", 1280),
}


@pytest.fixture(scope="module")
async def stack(
    database_factory: DatabaseFactory,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[PrivacyStack]:
    """One system for the module's journeys (each has its own customer)."""
    async with privacy_stack(
        database_factory,
        kafka=kafka_bootstrap,
        redis=redis_url,
        prefix=f"b{uuid.uuid4().hex[:10]}.",
        workdir=tmp_path_factory.mktemp("privacy"),
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def shop_app(stack: PrivacyStack) -> Subscriber:
    return await stack.subscriber("shop-app")


async def check(page: Any, name: str, lang: str, width: int) -> None:
    """What every page of the journey must be: in its language, no sideways scrolling, no
    serious or critical axe-core violation; photographed when it is one of SHOTS."""
    assert await page.evaluate("() => document.documentElement.lang") == lang, name
    assert not await overflows_horizontally(page), f"{name} scrolls sideways at {width} px"
    violations = await axe_violations(page)
    assert not violations, f"{name} ({lang}, {width} px): " + "; ".join(map(str, violations))
    if (name, lang, width) in SHOTS:
        await screenshot(page, f"{name}-{lang}-{width}")


async def submit(page: Any, selector: str) -> None:
    """Click a form's button and wait for the page the post leads to (303 and its GET)."""
    async with page.expect_navigation():
        await page.click(selector)


async def subject_of(page: Any, stack: PrivacyStack) -> str:
    """The signed-in customer's id, asked of auth with the browser's own cookies."""
    me = await page.request.get(f"{stack.auth_url}/v1/me")
    assert me.status == 200, await me.text()
    return str((await me.json())["subject_id"])


async def register_and_confirm(
    page: Any, stack: PrivacyStack, email: str, lang: str, width: int
) -> None:
    await page.goto(f"{stack.auth_url}/register")
    await check(page, "register", lang, width)
    mark = await newest_mail_id(stack.mail_url)
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await submit(page, "form[action='/register'] button[type=submit]")
    # "Check your inbox": the box for the code is on the page that answers the registration.
    await page.wait_for_selector("#code")
    await check(page, "verify", lang, width)
    mail = await wait_for_mail(stack.mail_url, email, newer_than=mark)
    code = re.search(r"\b(\d{6})\b", mail["text"])
    assert code, mail["text"]
    await page.fill("#code", code.group(1))
    await submit(page, "form[action='/verify-email'] button[type=submit]")
    assert await page.locator("#code").count() == 0  # done: the form is gone


async def sign_in(page: Any, stack: PrivacyStack, email: str, return_to: str) -> None:
    await page.goto(f"{stack.auth_url}/login?return_to={return_to}")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await submit(page, "form[action='/login'] button[type=submit]")
    assert page.url.endswith(return_to), page.url


async def state_shown(page: Any) -> str:
    return str(await page.get_attribute(f"#purpose-{PURPOSE} [data-state]", "data-state"))


@pytest.mark.parametrize("locale", ["pl-PL", "en-GB"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
async def test_registration_to_a_withdrawal_that_reaches_an_app_in_another_process(
    browser: Any,
    stack: PrivacyStack,
    shop_app: Subscriber,
    locale: str,
    viewport: dict[str, int],
) -> None:
    lang, width = locale[:2], viewport["width"]
    context = await browser.new_context(viewport=viewport, locale=locale)
    try:
        page = await context.new_page()
        email = f"journey-{uuid.uuid4().hex[:8]}@example.com"
        await register_and_confirm(page, stack, email, lang, width)

        await sign_in(page, stack, email, "/privacy")
        # The session cookie is Secure: Chromium keeps it on http://127.0.0.1 (a potentially
        # trustworthy origin), so the page after sign-in is the signed-in privacy page.
        cookies = {c["name"]: c for c in await context.cookies()}
        assert cookies["ciam_session"]["secure"] is True
        subject = await subject_of(page, stack)
        await check(page, "privacy", lang, width)
        assert await state_shown(page) == "never"

        await submit(page, f"#purpose-{PURPOSE} form button")
        assert await state_shown(page) == "granted"
        granted = await shop_app_line(shop_app, subject, lambda line: PURPOSE in line["granted"])

        await submit(page, f"#purpose-{PURPOSE} form button")
        assert await state_shown(page) == "withdrawn"
        await check(page, "privacy", lang, width)
        withdrawn = await shop_app_line(
            shop_app, subject, lambda line: line["version"] > granted["version"]
        )
        assert PURPOSE not in withdrawn["granted"]

        await page.goto(f"{stack.auth_url}/account")
        await check(page, "account", lang, width)
    finally:
        await context.close()


async def shop_app_line(app: Subscriber, subject: str, wanted: Any) -> dict[str, Any]:
    """The first change of `subject` the app in the other process applied that is `wanted`."""
    version = 1
    while True:
        line = await app.change_of(subject, version)
        if wanted(line):
            return line
        version += 1


async def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element `selector` has the focus, and check the focus is visible."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(
            "(s) => document.activeElement === document.querySelector(s)", selector
        ):
            outline = await page.evaluate(
                "() => getComputedStyle(document.activeElement).outlineStyle"
            )
            assert outline != "none", f"{selector} has the focus but shows no outline"
            return
    raise AssertionError(f"{selector} not reached with {limit} presses of Tab")


async def test_the_withdrawal_journey_with_the_keyboard_alone(
    browser: Any, stack: PrivacyStack, shop_app: Subscriber, tmp_path: Path
) -> None:
    context = await browser.new_context(viewport=PHONE, locale="pl-PL")
    try:
        page = await context.new_page()
        email = f"keys-{uuid.uuid4().hex[:8]}@example.com"
        await register_and_confirm(page, stack, email, "pl", PHONE["width"])

        await page.goto(f"{stack.auth_url}/login?return_to=/privacy")
        await tab_to(page, "#email")
        await page.keyboard.type(email)
        await tab_to(page, "#password")
        await page.keyboard.type(PASSWORD)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert page.url.endswith("/privacy"), page.url
        subject = await subject_of(page, stack)

        button = f"#purpose-{PURPOSE} form button"
        await tab_to(page, button)
        async with page.expect_navigation():
            await page.keyboard.press("Space")
        assert await state_shown(page) == "granted"
        granted = await shop_app_line(shop_app, subject, lambda line: PURPOSE in line["granted"])

        await tab_to(page, button)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert await state_shown(page) == "withdrawn"
        withdrawn = await shop_app_line(
            shop_app, subject, lambda line: line["version"] > granted["version"]
        )
        assert PURPOSE not in withdrawn["granted"]
    finally:
        await context.close()


async def state_of(page: Any, purpose: str) -> str:
    return str(await page.get_attribute(f"#purpose-{purpose} [data-state]", "data-state"))


@pytest.mark.parametrize("locale", ["pl-PL", "en-GB"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
async def test_email_marketing_is_granted_by_the_link_in_the_caught_mail(
    browser: Any,
    stack: PrivacyStack,
    shop_app: Subscriber,
    locale: str,
    viewport: dict[str, int],
) -> None:
    lang, width = locale[:2], viewport["width"]
    purpose = "email-marketing"
    context = await browser.new_context(viewport=viewport, locale=locale)
    try:
        page = await context.new_page()
        email = f"optin-{uuid.uuid4().hex[:8]}@example.com"
        await register_and_confirm(page, stack, email, lang, width)
        await sign_in(page, stack, email, "/privacy")
        subject = await subject_of(page, stack)

        mark = await newest_mail_id(stack.mail_url)
        await submit(page, f"#purpose-{purpose} form button")
        # Nothing is recorded yet: the page says a link was mailed and waits for it.
        await page.wait_for_selector(f"[data-pending={purpose}]")
        assert await state_of(page, purpose) == "never"
        assert text(lang, "privacy_optin_sent") in await page.inner_text("main")
        await check(page, "optin-sent", lang, width)

        mail = await wait_for_mail(
            stack.mail_url, email, text(lang, "privacy_optin_mail_subject"), newer_than=mark
        )
        link = next(u for u in links(mail) if "/privacy/confirm?token=" in u)
        assert link.startswith(stack.auth_url), link
        await page.goto(link)
        await check(page, "optin-confirm", lang, width)
        await submit(page, "form[action='/privacy/confirm'] button[type=submit]")
        assert text(lang, "privacy_optin_confirmed") in await page.inner_text("main")
        await check(page, "optin-done", lang, width)

        await page.goto(f"{stack.auth_url}/privacy")
        assert await state_of(page, purpose) == "granted"
        assert await page.locator(f"[data-pending={purpose}]").count() == 0
        await check(page, "privacy-optin", lang, width)  # not the docs' shots of /privacy
        await shop_app_line(shop_app, subject, lambda line: purpose in line["granted"])
    finally:
        await context.close()
