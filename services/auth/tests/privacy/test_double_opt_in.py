"""Double opt-in for email and SMS marketing: a grant on the page mails a signed link and
records nothing; the consent is granted only when the link is used, once, before it expires;
withdrawing is immediate."""

from __future__ import annotations

import html
import re
import time
from email.message import Message

from ciam_auth.privacy import optin

from .conftest import OURS, Privacy, csrf_of, state_of


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def link_in(message: Message) -> str:
    found = re.search(r"https?://\S+/privacy/confirm\?token=([A-Za-z0-9_.-]+)", body_of(message))
    assert found, body_of(message)
    return found.group(1)


async def confirm(privacy: Privacy, token: str, *, other_browser: bool = True) -> tuple[int, str]:
    """Open the link and press its button, as the customer would (by default in another
    browser, where nobody is signed in: the mail may be read anywhere)."""
    browser = privacy.other_browser() if other_browser else privacy.http
    try:
        opened = await browser.get("/privacy/confirm", params={"token": token})
        if opened.status_code != 200:
            return opened.status_code, html.unescape(opened.text)
        posted = await browser.post(
            "/privacy/confirm",
            data={"token": token, "csrf": csrf_of(opened.text)},
            headers={"origin": OURS},
        )
        return posted.status_code, html.unescape(posted.text)
    finally:
        if other_browser:
            await browser.aclose()


async def grant(privacy: Privacy, purpose: str, locale: str = "en") -> str:
    page = await privacy.http.get("/privacy", headers={"accept-language": locale})
    answer = await privacy.http.post(
        "/privacy/consents",
        data={"purpose": purpose, "action": "grant", "csrf": csrf_of(page.text)},
        headers={"origin": OURS, "accept-language": locale},
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


async def test_an_email_marketing_grant_waits_for_the_mailed_link_which_works_once(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in("optin@example.com")
    assert (
        await grant(privacy, "email-marketing") == "/privacy?done=pending#purpose-email-marketing"
    )
    mail = await privacy.mailbox.wait_for("optin@example.com")
    assert mail["Subject"] == "Confirm your consent"
    assert "offers by email" in body_of(mail)
    # Nothing recorded yet; the page says it waits for the link.
    assert await privacy.consents_at_consent_service(account) == {}
    page = await privacy.http.get("/privacy?done=pending", headers={"accept-language": "en"})
    assert state_of(page.text, "email-marketing") == "never"
    assert 'data-pending="email-marketing"' in page.text
    assert "We have sent a confirmation link" in page.text

    token = link_in(mail)
    # Opening the link (a mail scanner does) records nothing: only its button does.
    async with privacy.other_browser() as scanner:
        assert (await scanner.get("/privacy/confirm", params={"token": token})).status_code == 200
    assert await privacy.consents_at_consent_service(account) == {}

    code, text = await confirm(privacy, token)
    assert code == 200 and "your consent is recorded" in text
    assert await privacy.consents_at_consent_service(account) == {"email-marketing": "granted"}
    page = await privacy.http.get("/privacy", headers={"accept-language": "en"})
    assert state_of(page.text, "email-marketing") == "granted"
    assert 'data-pending="email-marketing"' not in page.text

    # Used once: a second use is refused, on opening and on pressing.
    code, text = await confirm(privacy, token)
    assert code == 400 and "has been used already" in text
    async with privacy.other_browser() as again:
        opened = await again.get("/privacy/confirm", params={"token": token})
        assert opened.status_code == 400 and 'name="token"' not in opened.text
    history = await privacy.history_at_consent_service(account)
    assert [(e["purpose"], e["status"]) for e in history] == [("email-marketing", "granted")]


async def test_withdrawing_is_immediate_and_needs_no_link(privacy: Privacy) -> None:
    account = await privacy.sign_in("withdraw-optin@example.com")
    await privacy.record_at_consent_service(
        account, [{"purpose": "sms-marketing", "status": "granted"}]
    )
    page = await privacy.http.get("/privacy")
    withdrawn = await privacy.http.post(
        "/privacy/consents",
        data={"purpose": "sms-marketing", "action": "withdraw", "csrf": csrf_of(page.text)},
        headers={"origin": OURS},
    )
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"].startswith("/privacy?done=withdraw")
    assert await privacy.consents_at_consent_service(account) == {"sms-marketing": "withdrawn"}
    assert privacy.mailbox.to("withdraw-optin@example.com") == []


async def test_an_sms_marketing_grant_is_confirmed_by_a_mailed_link_in_polish(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in("sms-optin@example.com")
    # The mail's language is the account's (from registration), not the page's.
    await privacy.set_locale(account, "pl")
    await grant(privacy, "sms-marketing", locale="pl")
    mail = await privacy.mailbox.wait_for("sms-optin@example.com")
    assert mail["Subject"] == "Potwierdzenie zgody"
    assert "oferty SMS-em" in body_of(mail)
    code, text = await confirm(privacy, link_in(mail))
    assert code == 200 and "your consent is recorded" in text
    assert await privacy.consents_at_consent_service(account) == {"sms-marketing": "granted"}


async def test_an_expired_or_altered_link_grants_nothing(privacy: Privacy) -> None:
    account = await privacy.sign_in("expired-optin@example.com")
    secret = privacy.runtime.parts.context.settings.key_encryption_secret.get_secret_value()
    expired = optin.sign(
        secret, account, "email-marketing", None, now=time.time() - optin.TTL_S - 1
    )
    code, text = await confirm(privacy, expired)
    assert code == 400 and "it has expired" in text

    await grant(privacy, "email-marketing")
    token = link_in(await privacy.mailbox.wait_for("expired-optin@example.com"))
    body, _, mac = token.partition(".")
    # Another purpose in the link's content, the signature kept: refused.
    forged = optin.sign("another secret", account, "partner-sharing", None)
    for bad in (forged, f"{body}.{mac[:-2]}AA", body, "", forged.split(".")[0] + "." + mac):
        code, _ = await confirm(privacy, bad)
        assert code == 400, bad
    assert await privacy.consents_at_consent_service(account) == {}


async def test_a_link_pressed_without_its_form_token_changes_nothing(privacy: Privacy) -> None:
    account = await privacy.sign_in("csrf-optin@example.com")
    await grant(privacy, "email-marketing")
    token = link_in(await privacy.mailbox.wait_for("csrf-optin@example.com"))
    async with privacy.other_browser() as browser:
        posted = await browser.post("/privacy/confirm", data={"token": token})
        assert posted.status_code == 403
    assert await privacy.consents_at_consent_service(account) == {}
    # The link still works afterwards.
    code, _ = await confirm(privacy, token)
    assert code == 200
    assert await privacy.consents_at_consent_service(account) == {"email-marketing": "granted"}


async def test_without_a_confirmed_address_no_link_is_sent_and_nothing_recorded(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in()  # a session with no account row: no address
    page = await privacy.http.get("/privacy")
    answer = await privacy.http.post(
        "/privacy/consents",
        data={"purpose": "email-marketing", "action": "grant", "csrf": csrf_of(page.text)},
        headers={"origin": OURS, "accept-language": "en"},
    )
    assert answer.status_code == 400
    assert "no confirmed email address" in html.unescape(answer.text)
    assert await privacy.consents_at_consent_service(account) == {}
    assert privacy.mailbox.messages == []
