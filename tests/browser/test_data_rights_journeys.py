"""The customer's data rights clicked in the system's Chromium, across the four services run as
separate processes by the runner `make run` uses (`ciam_devtools.testing.system`), over the
real broker, with the runner's mail sink:

- download my data: from /privacy to /privacy/export, one click, the status page reloading
  itself until the archive is ready, the zip downloaded by the browser and opened: its four
  JSON files checked against what each service's own API answers for this customer, and its
  summary.html opened in the browser;
- delete my account: from /account with the password, landing on the erasure's status page,
  which reloads itself until every service has confirmed its step; the closing mail arrives.

The download in Polish at 375 px and in English at 1280 px, the deletion in both languages at
both widths; every page of the journeys in its
language, without sideways scrolling, and with no serious or critical axe-core violation.
"""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ciam_auth.i18n import text
from ciam_devtools.testing.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    despite_reloads,
    overflows_horizontally,
    screenshot,
    words_split,
)
from ciam_devtools.testing.mail import newest_mail_id, wait_for_mail
from ciam_devtools.testing.plugin import eventually
from ciam_devtools.testing.system import RunningSystem, running_system

pytestmark = pytest.mark.browser

PASSWORD = "a long and unusual passphrase 42"
JOURNEYS = [("pl-PL", PHONE), ("en-GB", DESKTOP)]
IDS = ["pl-375px", "en-1280px"]
# The deletion is quick to follow: in both languages at both widths.
EVERY_WAY = [*JOURNEYS, ("en-GB", PHONE), ("pl-PL", DESKTOP)]
EVERY_ID = [*IDS, "en-375px", "pl-1280px"]
SERVICES = ("auth", "consent", "profile", "notifier")
# The screenshots docs/services/privacy.md shows: (page, language, width).
SHOTS = {
    ("export-status", "pl", 375),
    ("export-ready", "en", 1280),
    ("deletion-done", "pl", 375),
    ("deletion-done", "en", 1280),
}
# Long enough for every service's answer over Kafka on a loaded two-core machine.
ANSWER_TIMEOUT_MS = 45_000
# For the message of a failure: the innermost elements that reach past the window's edge.
WIDER_THAN_THE_WINDOW = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right
        > document.documentElement.clientWidth + 1))
    .slice(0, 5).map(e => e.tagName + ': ' + (e.textContent || '').slice(0, 60))"""


async def check_reloading(page: Any, name: str, lang: str, width: int) -> None:
    """`check` and `words_whole` on a status page that reloads itself every few seconds."""

    async def checks() -> None:
        await check(page, name, lang, width)
        await words_whole(page)

    await despite_reloads(page, checks)


async def local_times(page: Any) -> None:
    """Every moment on the page in the browser's local time (auth.js), none left in UTC."""
    await page.wait_for_selector("time[data-localised]")
    assert "UTC" not in await page.inner_text("main")


async def words_whole(page: Any) -> None:
    """No word of the steps' table (every service's state) is broken for want of room."""
    assert await words_split(page, "tr[data-service] td") == []


@pytest.fixture(scope="module")
async def system(
    kafka_bootstrap: str,
    redis_url: str,
    postgres_admin_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningSystem]:
    """One system for the module's journeys (each has its own customer)."""
    async with running_system(
        kafka=kafka_bootstrap,
        redis=redis_url,
        postgres=postgres_admin_url,
        prefix=f"r{uuid.uuid4().hex[:10]}.",
        var=tmp_path_factory.mktemp("system"),
    ) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def check(page: Any, name: str, lang: str, width: int) -> None:
    """What every page of the journeys must be: in its language, no sideways scrolling, no
    serious or critical axe-core violation; photographed when it is one of SHOTS."""
    assert await page.evaluate("() => document.documentElement.lang") == lang, name
    if await overflows_horizontally(page):
        wide = await page.evaluate(WIDER_THAN_THE_WINDOW)
        raise AssertionError(f"{name} scrolls sideways at {width} px: {wide}")
    violations = await axe_violations(page)
    assert not violations, f"{name} ({lang}, {width} px): " + "; ".join(map(str, violations))
    if (name, lang, width) in SHOTS:
        await screenshot(page, f"{name}-{lang}-{width}")


async def submit(page: Any, selector: str) -> None:
    """Click a form's button and wait for the page the post leads to (303 and its GET)."""
    async with page.expect_navigation():
        await page.click(selector)


async def customer(system: RunningSystem, http: httpx.AsyncClient, lang: str) -> tuple[str, str]:
    """A registered, verified customer (address, subject id), registered in `lang` through
    auth's API (the registration pages have their own journey in test_privacy_journey.py)."""
    address = f"rights-{uuid.uuid4().hex[:8]}@example.com"
    mark = await newest_mail_id(system.mail)
    created = await http.post(
        f"{system.auth}/v1/accounts",
        json={"email": address, "password": PASSWORD},
        headers={"accept-language": lang},
    )
    assert created.status_code == 202, created.text
    mail = await wait_for_mail(system.mail, address, timeout=60, newer_than=mark)
    code = re.search(r"\b(\d{6})\b", mail["text"])
    assert code, mail["text"]
    verified = await http.post(
        f"{system.auth}/v1/email-verifications", json={"email": address, "code": code.group(1)}
    )
    assert verified.status_code == 200, verified.text
    return address, str(verified.json()["subject_id"])


async def sign_in(page: Any, system: RunningSystem, address: str, return_to: str) -> None:
    await page.goto(f"{system.auth}/login?return_to={return_to}")
    await page.fill("#email", address)
    await page.fill("#password", PASSWORD)
    await submit(page, "form[action='/login'] button[type=submit]")
    assert page.url.endswith(return_to), page.url


async def held_by_the_services(
    system: RunningSystem, http: httpx.AsyncClient, subject: str, address: str
) -> str:
    """What brand apps would leave about the customer in every service: a consent given in
    an app (the notifier mails its confirmation), a profile field, and a marketing mail sent
    through the notifier. Returns the marketing message's id, once it has gone out."""
    bearer = await system.bearer(http)

    async def known(url: str) -> bool:
        return (await http.get(url, headers=bearer)).status_code == 200

    await eventually(lambda: known(f"{system.profile}/v1/profiles/{subject}"), timeout=60)
    await eventually(lambda: known(f"{system.consent}/v1/subjects/{subject}/consents"), timeout=60)
    grant = await http.post(
        f"{system.consent}/v1/subjects/{subject}/consents/email-marketing/grant",
        json={},
        headers=bearer,
    )
    assert grant.status_code in (200, 201), grant.text
    patched = await http.patch(
        f"{system.profile}/v1/profiles/{subject}",
        json={"fields": {"name": "Ada"}},
        headers=bearer,
    )
    assert patched.status_code == 200, patched.text

    # A message is sent by an app as itself: a token without admin scopes.
    app = await system.bearer(http, scope="consent:read")
    answers: list[str] = []

    async def sent() -> str | None:
        # Refused (409) until the notifier's consent view has the grant: asked again.
        answer = await http.post(
            f"{system.notifier}/v1/messages",
            # The development client's grant is its brand's ("demo").
            json={"subject_id": subject, "purpose": "email-marketing", "channel": "email",
                  "brand": "demo", "to": address, "title": "Spring offers",
                  "body": "Ten per cent off."},
            headers=app,
        )  # fmt: skip
        answers.append(answer.text)
        return str(answer.json()["id"]) if answer.status_code == 202 else None

    try:
        message = str(await eventually(sent, timeout=30, interval=0.5))
    except AssertionError:
        raise AssertionError(f"the notifier refused the message: {answers[-1]}") from None

    async def gone_out() -> bool:
        answer = await http.get(f"{system.notifier}/v1/messages/{message}", headers=app)
        return bool(answer.json()["status"] == "sent")

    await eventually(gone_out, timeout=60, interval=0.2)
    return message


@pytest.mark.parametrize(("locale", "viewport"), JOURNEYS, ids=IDS)
async def test_the_data_download_is_clicked_downloaded_and_matches_every_service(
    browser: Any,
    system: RunningSystem,
    http: httpx.AsyncClient,
    locale: str,
    viewport: dict[str, int],
    tmp_path: Path,
) -> None:
    lang, width = locale[:2], viewport["width"]
    address, subject = await customer(system, http, lang)
    message = await held_by_the_services(system, http, subject, address)
    context = await browser.new_context(viewport=viewport, locale=locale, accept_downloads=True)
    try:
        page = await context.new_page()
        await sign_in(page, system, address, "/privacy")
        async with page.expect_navigation():
            await page.click("a[href='/privacy/export']")
        await check(page, "export", lang, width)

        await submit(page, "form[action='/privacy/export'] button[type=submit]")
        assert re.search(r"/privacy/export/[0-9a-f-]{36}$", page.url), page.url
        status_page = page.url
        await check_reloading(page, "export-status", lang, width)
        # The page reloads itself (a Refresh header) while the services answer.
        await page.wait_for_selector("[data-status=ready]", timeout=ANSWER_TIMEOUT_MS)
        assert page.url == status_page
        states = await page.eval_on_selector_all(
            "tr[data-service]", "rows => rows.map(r => [r.dataset.service, r.dataset.state])"
        )
        assert dict(states) == dict.fromkeys(SERVICES, "answered")
        await check(page, "export-ready", lang, width)
        await words_whole(page)
        await local_times(page)

        async with page.expect_download() as arrival:
            await page.click(f"a[href='{status_page.removeprefix(system.auth)}/archive']")
        download = await arrival.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        assert saved.suffix == ".zip", saved
        unpacked = tmp_path / "archive"
        names, part = unpack(saved, unpacked)
        assert names == sorted(
            ["summary.html", "auth.json", "consent.json", "profile.json", "notifier.json"]
        )
        await check_files(system, http, part, subject, address, message)

        await page.goto((unpacked / "summary.html").as_uri())
        await page.wait_for_selector(f"text={address}")
        assert await page.locator("text=Ada").count() > 0
        await check(page, "export-summary", lang, width)
        assert await words_split(page, "td, th") == []  # the files' table
    finally:
        await context.close()


def unpack(saved: Path, into: Path) -> tuple[list[str], dict[str, Any]]:
    """The archive's file names, sorted, and its four JSON files read (unpacked into `into`)."""
    with zipfile.ZipFile(saved) as archive:
        archive.extractall(into)
        names = sorted(archive.namelist())
    services = ("auth", "consent", "profile", "notifier")
    return names, {s: json.loads((into / f"{s}.json").read_text()) for s in services}


async def check_files(
    system: RunningSystem,
    http: httpx.AsyncClient,
    part: dict[str, Any],
    subject: str,
    address: str,
    message: str,
) -> None:
    """The archive's JSON files against what each service's API answers for the subject."""
    bearer = await system.bearer(http)
    # Auth: the account's address and id, never a secret.
    me = part["auth"]["account"]
    assert (me["email"], me["id"]) == (address, subject)
    assert "argon2" not in json.dumps(part["auth"])
    # Consent: the current consents and the history's versions, as its API answers them.
    current = (
        await http.get(f"{system.consent}/v1/subjects/{subject}/consents", headers=bearer)
    ).json()
    assert {(c["purpose"], c["status"]) for c in part["consent"]["consents"]} == {
        (c["purpose"], c["status"]) for c in current["consents"]
    }
    assert ("email-marketing", "granted") in {
        (c["purpose"], c["status"]) for c in current["consents"]
    }
    history = (
        await http.get(f"{system.consent}/v1/subjects/{subject}/history", headers=bearer)
    ).json()
    assert [e["version"] for e in part["consent"]["history"]] == [
        e["version"] for e in history["entries"]
    ]
    assert [e["entry_hash"] for e in part["consent"]["history"]] == [
        e["entry_hash"] for e in history["entries"]
    ]
    # Profile: its fields as its export API gives them.
    own = (await http.get(f"{system.profile}/v1/profiles/{subject}/export", headers=bearer)).json()
    assert [p["fields"] for p in part["profile"]["profiles"]] == [
        p["fields"] for p in own["profiles"]
    ]
    assert part["profile"]["profiles"][0]["fields"]["name"]["value"] == "Ada"
    # Notifier: the marketing mail, as its API answers it (and the grant's confirmation).
    app = await system.bearer(http, scope="consent:read")
    sent = (await http.get(f"{system.notifier}/v1/messages/{message}", headers=app)).json()
    listed = {m["id"]: m for m in part["notifier"]["messages"]}
    assert message in listed, listed
    assert listed[message]["status"] == sent["status"] == "sent"
    assert listed[message]["purpose"] == "email-marketing"
    assert listed[message]["title"] == "Spring offers"


@pytest.mark.parametrize(("locale", "viewport"), EVERY_WAY, ids=EVERY_ID)
async def test_the_deletion_is_followed_on_its_status_page_to_the_end(
    browser: Any,
    system: RunningSystem,
    http: httpx.AsyncClient,
    locale: str,
    viewport: dict[str, int],
) -> None:
    lang, width = locale[:2], viewport["width"]
    address, subject = await customer(system, http, lang)
    bearer = await system.bearer(http)
    await eventually(
        lambda: _known(http, f"{system.profile}/v1/profiles/{subject}", bearer), timeout=60
    )
    context = await browser.new_context(viewport=viewport, locale=locale)
    try:
        page = await context.new_page()
        await sign_in(page, system, address, "/account")
        await check(page, "account-delete", lang, width)
        mark = await newest_mail_id(system.mail)
        await page.fill("#delete_password", PASSWORD)
        await submit(page, "form[action='/account/delete'] button[type=submit]")
        status_page = urlsplit(page.url).path
        assert re.fullmatch(r"/privacy/deletion/[^/]+", status_page), page.url
        await check_reloading(page, "deletion-status", lang, width)

        # The page reloads itself until every service has confirmed its step.
        await page.wait_for_selector("[data-status=done]", timeout=ANSWER_TIMEOUT_MS)
        assert urlsplit(page.url).path == status_page
        states = await page.eval_on_selector_all(
            "tr[data-service]", "rows => rows.map(r => [r.dataset.service, r.dataset.state])"
        )
        assert dict(states) == dict.fromkeys(SERVICES, "confirmed")
        await check(page, "deletion-done", lang, width)
        await words_whole(page)
        await local_times(page)

        first = await wait_for_mail(
            system.mail, address, text(lang, "mail_deletion_requested_subject"), 60,
            newer_than=mark,
        )  # fmt: skip
        assert status_page in first["text"]
        await wait_for_mail(
            system.mail, address, text(lang, "mail_deletion_done_subject"), 60, newer_than=mark
        )
        assert (
            await http.get(f"{system.profile}/v1/profiles/{subject}", headers=bearer)
        ).status_code == 404
    finally:
        await context.close()


async def _known(http: httpx.AsyncClient, url: str, bearer: dict[str, str]) -> bool:
    return (await http.get(url, headers=bearer)).status_code == 200
