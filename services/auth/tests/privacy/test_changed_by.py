"""Where the page says a change was made, from the consent history's source."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from ciam_auth.i18n import text
from ciam_auth.privacy.schemas import HistoryEntry
from ciam_auth.privacy.service import changed_by

from .conftest import OURS, Privacy, csrf_of, state_of


def entry(source: dict[str, Any], via: str = "web", name: str | None = None) -> HistoryEntry:
    return HistoryEntry(
        version=1,
        purpose="analytics",
        brand=None,
        channel=None,
        status="granted",
        collected_via=via,
        source=source,
        source_app_name=name,
        occurred_at=datetime.now(UTC),
    )


def test_auths_own_pages_are_named_by_the_app_the_consent_service_records() -> None:
    assert changed_by(entry({"app": "ciam-auth", "device": None})) == ("page", None)
    # Before the consent service recorded it, the page named itself in the device.
    assert changed_by(entry({"app": None, "device": "ciam-auth/privacy; Firefox"})) == (
        "page",
        None,
    )


def test_auths_social_import_reads_by_its_method_and_apps_by_their_name() -> None:
    social = "Sign-in service (social import)"  # how the consent service names it
    assert changed_by(entry({"app": "ciam-auth"}, via="import", name=social)) == ("via", "import")
    assert changed_by(entry({"app": "ciam-auth"}, via="gpc", name=social)) == ("via", "gpc")
    assert changed_by(entry({"app": "app_x1"}, via="app", name="Quiz")) == ("app", "Quiz")
    assert changed_by(entry({"app": "app_x1"}, via="app")) == ("app", "app_x1")
    assert changed_by(entry({}, via="gpc")) == ("via", "gpc")


def said(by: tuple[str, str | None]) -> str:
    """How the English page words `changed_by` (templates/privacy.html)."""
    kind, value = by
    if kind == "page":
        return text("en", "privacy_by_page")
    if kind == "app":
        return text("en", "privacy_by_app", app=value)
    return text("en", "privacy_by_app_channel" if value == "app" else f"privacy_by_{value}")


def card_of(page: str, purpose: str) -> str:
    card = re.search(rf'<article class="purpose" id="purpose-{purpose}".*?</article>', page, re.S)
    assert card, page
    return card.group(0)


async def test_each_card_names_who_made_the_purposes_last_change_of_a_long_history(
    privacy: Privacy,
) -> None:
    """The page reads each purpose's newest entry only (`/history/latest`), not the whole
    history: it says what the whole history says."""
    account = await privacy.sign_in()
    page = await privacy.http.get("/privacy")
    csrf = csrf_of(page.text)

    async def on_the_page(purpose: str, action: str) -> None:
        answer = await privacy.http.post(
            "/privacy/consents",
            data={"purpose": purpose, "action": action, "csrf": csrf},
            headers={"origin": OURS},
        )
        assert answer.status_code == 303, answer.text

    await privacy.record_at_consent_service(
        account, [{"purpose": "personalisation", "status": "granted"}], collected_via="import"
    )
    for action in ("grant", "withdraw", "grant", "withdraw", "grant"):
        await on_the_page("analytics", action)
    await privacy.record_at_consent_service(
        account, [{"purpose": "analytics", "status": "withdrawn"}], collected_via="import"
    )
    await on_the_page("personalisation", "withdraw")

    shown = html.unescape(
        (await privacy.http.get("/privacy", headers={"accept-language": "en"})).text
    )
    history = [HistoryEntry.model_validate(e) for e in await privacy.history_at_consent_service(
        account
    )]  # fmt: skip
    newest = {e.purpose: e for e in history}  # oldest first: the last one stays
    assert set(newest) == {"analytics", "personalisation"}
    for purpose, entry in newest.items():
        assert f", {said(changed_by(entry))}</dd>" in card_of(shown, purpose), purpose
    assert ", by a data import</dd>" in card_of(shown, "analytics")
    assert ", on this privacy page</dd>" in card_of(shown, "personalisation")
    assert state_of(shown, "analytics") == "withdrawn"
    assert state_of(shown, "personalisation") == "withdrawn"
