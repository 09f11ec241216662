"""`/privacy`: every purpose of the consent service's catalogue with the customer's choice, in
Polish and English; a grant and a withdrawal through the page's forms, recorded at the consent
service; refused forms change nothing; the consent service down is a page, not a 500."""

from __future__ import annotations

import html

import httpx

from .conftest import OURS, Privacy, csrf_of, state_of

GROUPS = {
    "en": ["Communication", "Personalisation and analytics", "Sharing", "Imported data"],
    "pl": ["Komunikacja", "Personalizacja i analityka", "Udostępnianie danych", "Dane importowane"],
}


async def test_the_page_lists_every_purpose_of_the_catalogue_in_english_and_polish(
    privacy: Privacy,
) -> None:
    await privacy.sign_in()
    async with httpx.AsyncClient(base_url=privacy.consent_url) as consent:
        catalogue = (await consent.get("/v1/purposes")).json()
    assert {p["id"] for p in catalogue} >= {"email-marketing", "partner-sharing", "social-import"}

    for locale, never, basis in (
        ("en", "No decision yet", "Your consent: you can withdraw it at any time."),
        ("pl", "Brak decyzji", "Twoja zgoda: możesz ją wycofać w każdej chwili."),
    ):
        page = await privacy.http.get("/privacy", headers={"accept-language": locale})
        assert page.status_code == 200, page.text
        text = html.unescape(page.text)
        assert f'<html lang="{locale}">' in text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        for heading in GROUPS[locale]:
            assert f">{heading}</h2>" in text, heading
        for purpose in catalogue:
            assert purpose["names"][locale] in text, purpose["id"]
            notice = next(
                v["notice"][locale]
                for v in purpose["versions"]
                if v["version"] == purpose["current_version"]
            )
            assert notice in text, purpose["id"]
            assert state_of(text, purpose["id"]) == "never"
        assert never in text and basis in text
    # A purpose on another legal basis is shown, with nothing to grant or withdraw.
    assert "Needed to carry out our contract" in html.unescape(
        (await privacy.http.get("/privacy", headers={"accept-language": "en"})).text
    )


async def test_a_grant_and_a_withdrawal_through_the_form_change_the_consent_service(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in()
    page = await privacy.http.get("/privacy", headers={"accept-language": "en"})
    csrf = csrf_of(page.text)

    granted = await privacy.http.post(
        "/privacy/consents",
        data={"purpose": "analytics", "action": "grant", "csrf": csrf},
        headers={"origin": OURS},
    )
    assert granted.status_code == 303
    assert granted.headers["location"].startswith("/privacy?done=grant&version=1")
    assert (await privacy.consents_at_consent_service(account)) == {"analytics": "granted"}
    shown = await privacy.http.get("/privacy?done=grant", headers={"accept-language": "en"})
    assert state_of(shown.text, "analytics") == "granted"
    assert state_of(shown.text, "personalisation") == "never"
    assert "Consent given. Every app and channel is being told." in shown.text
    assert "on this privacy page" in shown.text

    withdrawn = await privacy.http.post(
        "/privacy/consents",
        data={"purpose": "analytics", "action": "withdraw", "csrf": csrf},
        headers={"origin": OURS, "sec-fetch-site": "same-origin"},
    )
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"].startswith("/privacy?done=withdraw&version=2")
    assert (await privacy.consents_at_consent_service(account)) == {"analytics": "withdrawn"}
    shown = await privacy.http.get("/privacy", headers={"accept-language": "pl"})
    assert state_of(shown.text, "analytics") == "withdrawn"
    assert "Zgoda wycofana" in shown.text and "na tej stronie prywatności" in shown.text

    # The history at the consent service names the page and the web as where it happened.
    history = await privacy.history_at_consent_service(account)
    assert [(e["purpose"], e["status"]) for e in history] == [
        ("analytics", "granted"),
        ("analytics", "withdrawn"),
    ]
    assert all(e["collected_via"] == "web" for e in history)
    assert all(e["source"]["device"].startswith("ciam-auth/privacy") for e in history)


async def test_imported_fields_show_one_by_one_and_one_click_withdraws_them_all(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in()
    await privacy.record_at_consent_service(
        account,
        [
            {"purpose": "social-import", "status": "granted", "channel": "name"},
            {"purpose": "social-import", "status": "granted", "channel": "picture"},
            {"purpose": "social-import", "status": "denied", "channel": "birthday"},
        ],
        collected_via="import",
    )
    page = await privacy.http.get("/privacy", headers={"accept-language": "en"})
    assert state_of(page.text, "social-import") == "granted"
    card = page.text[page.text.index('id="purpose-social-import"') :]
    card = card[: card.index("</article>")]
    assert "<td>picture</td>" in card and "<td>birthday</td>" in card
    polish = (await privacy.http.get("/privacy", headers={"accept-language": "pl"})).text
    assert "<td>zdjęcie</td>" in polish and "<td>data urodzenia</td>" in polish
    assert 'value="withdraw"' in card and "by a data import" in card

    withdrawn = await privacy.http.post(
        "/privacy/consents",
        data={"purpose": "social-import", "action": "withdraw", "csrf": csrf_of(page.text)},
    )
    assert withdrawn.status_code == 303
    assert await privacy.all_at_consent_service(account) == {
        ("social-import", "name"): "withdrawn",
        ("social-import", "picture"): "withdrawn",
        ("social-import", "birthday"): "denied",
    }
    again = await privacy.http.get("/privacy", headers={"accept-language": "en"})
    assert state_of(again.text, "social-import") == "withdrawn"
    card = again.text[again.text.index('id="purpose-social-import"') :]
    card = card[: card.index("</article>")]
    # Nothing to grant here: an import is chosen at a social sign-in.
    assert "<form" not in card and "field by field" in card
    assert "on this privacy page" in card


async def test_a_form_without_its_token_or_from_another_origin_changes_nothing(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in()
    csrf = csrf_of((await privacy.http.get("/privacy")).text)
    grant = {"purpose": "analytics", "action": "grant"}

    missing = await privacy.http.post("/privacy/consents", data=grant)
    assert missing.status_code == 403 and "The form expired." in missing.text
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        foreign = await privacy.http.post(
            "/privacy/consents", data=grant | {"csrf": csrf}, headers=headers
        )
        assert foreign.status_code == 403, headers
    unknown = await privacy.http.post(
        "/privacy/consents",
        data={"purpose": "no-such-purpose", "action": "grant", "csrf": csrf},
    )
    assert unknown.status_code == 400 and "This change cannot be made." in unknown.text
    odd = await privacy.http.post(
        "/privacy/consents", data={"purpose": "analytics", "action": "sell", "csrf": csrf}
    )
    assert odd.status_code == 400
    assert await privacy.consents_at_consent_service(account) == {}


async def test_a_signed_out_visitor_is_sent_to_sign_in(privacy: Privacy) -> None:
    page = await privacy.http.get("/privacy")
    assert page.status_code == 303 and page.headers["location"] == "/login?return_to=/privacy"
    post = await privacy.http.post(
        "/privacy/consents", data={"purpose": "analytics", "action": "grant", "csrf": "x" * 43}
    )
    assert post.status_code == 303 and post.headers["location"] == "/login?return_to=/privacy"


async def test_the_account_page_links_to_the_privacy_page(privacy: Privacy) -> None:
    await privacy.sign_in("links@example.com")
    page = await privacy.http.get("/account", headers={"accept-language": "pl"})
    assert page.status_code == 200
    assert '<a href="/privacy">Prywatność i zgody</a>' in page.text


async def test_the_consent_service_down_is_a_clear_page_not_a_500(
    privacy_without_consent: Privacy,
) -> None:
    privacy = privacy_without_consent
    await privacy.sign_in("down@example.com")
    for locale, message in (
        ("en", "the consent service is not available. Nothing was changed."),
        ("pl", "usługa zgód jest niedostępna. Nic nie zostało zmienione."),
    ):
        page = await privacy.http.get("/privacy", headers={"accept-language": locale})
        assert page.status_code == 503 and message in page.text
        assert 'role="alert"' in page.text
    # The page has no form then; the account page's token is this browser's and session's.
    csrf = csrf_of((await privacy.http.get("/account")).text)
    change = await privacy.http.post(
        "/privacy/consents",
        data={"purpose": "analytics", "action": "grant", "csrf": csrf},
        headers={"accept-language": "en"},
    )
    assert change.status_code == 503
    assert "the consent service is not available. Nothing was changed." in change.text
