"""Re-consent: when a notice version requires it, the page says what changed (the version
agreed to and the current one, both texts) and asks once; `Sec-GPC: 1` is passed on to the
consent service and shown as honoured for the purposes it covers."""

from __future__ import annotations

import html
import re

import httpx

from .conftest import OURS, Privacy, csrf_of, state_of


async def publish_version(privacy: Privacy, purpose: str, en: str, pl: str) -> None:
    async with httpx.AsyncClient(base_url=privacy.consent_url) as consent:
        response = await consent.post(
            f"/v1/purposes/{purpose}/versions",
            json={"notice": {"en": en, "pl": pl}, "requires_reconsent": True},
            headers={"authorization": f"Bearer {privacy.admin_token()}"},
        )
    assert response.status_code == 201, response.text


def card(page: str, purpose: str) -> str:
    found = re.search(rf'<article class="purpose" id="purpose-{purpose}".*?</article>', page, re.S)
    assert found, page
    return found.group(0)


async def test_a_notice_that_requires_it_is_asked_again_once_with_what_changed(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in("reconsent@example.com")
    await privacy.record_at_consent_service(
        account,
        [
            {"purpose": "analytics", "status": "granted"},
            {"purpose": "email-marketing", "status": "granted"},
        ],
    )
    before = html.unescape((await privacy.http.get("/privacy")).text)
    assert 'id="reconsent-box"' not in before
    old_notice = re.search(r"<p>([^<]+)</p>\s*<dl>", card(before, "analytics"))
    assert old_notice
    await publish_version(
        privacy, "analytics", "We also measure app crashes.", "Mierzymy też awarie."
    )
    await publish_version(privacy, "email-marketing", "Weekly now.", "Teraz co tydzień.")

    page = await privacy.http.get("/privacy", headers={"accept-language": "en"})
    shown = html.unescape(page.text)
    assert state_of(shown, "analytics") == "needs_reconsent"
    box = shown[shown.index('id="reconsent-box"') :]
    box = box[: box.index("</section>")]
    asked = box[box.index('id="reconsent-analytics"') :]
    asked = asked[: asked.index("</article>")]
    assert "You agreed to version 1 of this information; it is now version 2." in asked
    assert old_notice.group(1) in asked and "We also measure app crashes." in asked
    polish = html.unescape(
        (await privacy.http.get("/privacy", headers={"accept-language": "pl"})).text
    )
    assert "Zmienione informacje" in polish and "Mierzymy też awarie." in polish

    for purpose in ("analytics", "email-marketing"):
        answered = await privacy.http.post(
            "/privacy/consents",
            data={"purpose": purpose, "action": "grant", "csrf": csrf_of(page.text)},
            headers={"origin": OURS},
        )
        assert answered.status_code == 303
        assert answered.headers["location"].startswith("/privacy?done=grant&version=")
    # Granted on the new version at once: the address was confirmed before, so no new link.
    assert await privacy.consents_at_consent_service(account) == {
        "analytics": "granted",
        "email-marketing": "granted",
    }
    assert privacy.mailbox.to("reconsent@example.com") == []
    after = html.unescape((await privacy.http.get("/privacy")).text)
    assert 'id="reconsent-box"' not in after  # asked once: answered, not asked again
    assert state_of(after, "analytics") == "granted"


async def test_the_gpc_signal_is_passed_on_and_shown_as_honoured(privacy: Privacy) -> None:
    account = await privacy.sign_in()
    await privacy.record_at_consent_service(
        account, [{"purpose": "partner-sharing", "status": "granted"}]
    )
    gpc = {"sec-gpc": "1", "accept-language": "en"}
    page = await privacy.http.get("/privacy", headers=gpc)
    shown = html.unescape(page.text)
    assert 'id="gpc"' in shown and "Global Privacy Control signal. We honour it" in shown
    sharing = card(shown, "partner-sharing")
    assert state_of(shown, "partner-sharing") == "withdrawn"
    assert 'data-gpc="partner-sharing"' in sharing and "<form" not in sharing
    assert "by your browser's Global Privacy Control signal" in sharing
    # Only the purposes the signal covers.
    assert "data-gpc=" not in card(shown, "analytics") and "<form" in card(shown, "analytics")
    assert await privacy.consents_at_consent_service(account) == {"partner-sharing": "withdrawn"}
    polish = html.unescape(
        (await privacy.http.get("/privacy", headers={"sec-gpc": "1", "accept-language": "pl"})).text
    )
    assert "Respektujemy go" in polish

    # A grant while the signal is sent is refused and records nothing.
    refused = await privacy.http.post(
        "/privacy/consents",
        data={"purpose": "partner-sharing", "action": "grant", "csrf": csrf_of(page.text)},
        headers={"origin": OURS, "sec-gpc": "1"},
    )
    assert refused.status_code == 400
    assert await privacy.consents_at_consent_service(account) == {"partner-sharing": "withdrawn"}
    # Without the signal nothing is read as an opt-in; the customer may grant again.
    plain = html.unescape((await privacy.http.get("/privacy")).text)
    assert 'id="gpc"' not in plain and 'value="grant"' in card(plain, "partner-sharing")
