"""A new identity whose verified email names an existing account is linked after the customer
confirms through a link mailed to that account, in the browser that started the sign-in.
The certified provider (oidc-provider) plays Google; a real SMTP server (aiosmtpd) receives."""

from __future__ import annotations

import hashlib
import re
import uuid
from email.message import Message
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from .conftest import ISSUER, SocialAuth
from .test_google import through_google

LINKED = "dev.ciam.identity.identity.linked.v1"


def link_in(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    found = re.search(
        r"https?://\S+(/login/social/confirm\?token=[A-Za-z0-9_-]+\S*)", payload.decode()
    )
    assert found, payload.decode()
    return found.group(1)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def ask_for_link(social: SocialAuth, mailbox: Any, address: str, *, sub: str) -> str:
    """With the evil provider: a new identity with a verified `address` of an existing
    account; the customer asks for the link. Returns the link's path."""
    proving = await social.sign_up(sub, email=address)
    assert proving.status_code == 200 and "Send me a confirmation link" in proving.text
    sent = await social.http.post(
        "/login/social/continue/mail", data={"csrf_token": csrf_of(proving)}
    )
    assert sent.status_code == 200 and "a link is on its way" in sent.text
    return link_in(await mailbox.wait_for(address))


async def confirm(browser: httpx.AsyncClient, path: str, fields: tuple[str, ...] = ()) -> Any:
    page = await browser.get(path)
    if page.status_code != 200:
        return page
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token, page.text
    return await browser.post(
        "/login/social/confirm",
        data={"csrf_token": csrf_of(page), "token": token.group(1), "decision": "accept",
              "fields": list(fields)},
    )  # fmt: skip


async def test_google_identity_is_linked_by_the_link_mailed_to_the_account(
    social: SocialAuth, mailbox: Any
) -> None:
    if social.settings.social_providers[-1].id != "google":
        pytest.skip("Node.js or tests/idp/node_modules missing (make node-deps)")
    owner = await social.password_account("ada@example.com")
    start = await social.http.get("/login/social/google", params={"return_to": "/shop"})
    callback = await through_google(start.headers["location"], "ada")
    asked = await social.http.get(callback.removeprefix(ISSUER))
    assert asked.headers["location"] == "/login/social/continue"
    proving = await social.http.get("/login/social/continue", headers={"accept-language": "pl"})
    assert "Wyślij mi link potwierdzający" in proving.text and "ada@example.com" in proving.text
    sent = await social.http.post(
        "/login/social/continue/mail",
        data={"csrf_token": csrf_of(proving)},
        headers={"accept-language": "pl"},
    )
    assert "Sprawdź pocztę" in sent.text or "link jest w drodze" in sent.text
    mail = await mailbox.wait_for("ada@example.com")
    path = link_in(mail)
    assert await social.count("linked_identities") == 0  # nothing yet: the mail only asks

    page = await social.http.get(path)
    assert page.status_code == 200 and "ada@example.com" in page.text
    done = await confirm(social.http, path, ("name",))
    assert done.status_code == 303 and done.headers["location"] == "/shop", done.text
    assert await social.signed_in_account() == owner
    assert await social.count("linked_identities") == 1 and await social.count("accounts") == 1
    assert LINKED in await social.outbox_types()

    # Returning with Google: the same account, one click.
    social.http.cookies.clear()
    again = await social.http.get("/login/social/google", params={"return_to": "/shop"})
    back = await social.http.get(
        (await through_google(again.headers["location"], "ada")).removeprefix(ISSUER)
    )
    assert back.headers["location"] == "/shop"
    assert await social.signed_in_account() == owner


async def test_the_link_does_nothing_in_another_browser_and_works_once_in_its_own(
    social: SocialAuth, mailbox: Any
) -> None:
    owner = await social.password_account("owner@example.com")
    path = await ask_for_link(social, mailbox, "owner@example.com", sub="fwd-1")

    async with social.other_browser() as attacker:
        opened = await confirm(attacker, path)
        assert opened.status_code == 400 and 'data-error="link_invalid"' in opened.text
        token = path.split("token=")[1].split("&")[0]
        posted = await attacker.post(
            "/login/social/confirm", data={"token": token, "decision": "accept"}
        )
        assert posted.status_code == 400 and 'data-error="link_invalid"' in posted.text
        assert "ciam_session" not in attacker.cookies
    assert await social.count("linked_identities") == 0

    done = await confirm(social.http, path)  # the owner's browser: still works
    assert done.status_code == 303 and done.headers["location"] == "/welcome"
    assert await social.signed_in_account() == owner
    assert await social.count("linked_identities") == 1

    reused = await confirm(social.http, path)
    assert reused.status_code == 400 and 'data-error="link_invalid"' in reused.text


async def test_an_expired_link_is_refused(social: SocialAuth, mailbox: Any) -> None:
    await social.password_account("late@example.com")
    path = await ask_for_link(social, mailbox, "late@example.com", sub="late-1")
    token = path.split("token=")[1].split("&")[0]
    # Its lifetime is over: Redis drops the entry (only the token's hash is stored).
    key = "social:mail-link:" + hashlib.sha256(token.encode()).hexdigest()
    assert await social.runtime.redis.exists(key) == 1
    await social.runtime.redis.expire(key, 0)
    expired = await confirm(social.http, path)
    assert expired.status_code == 400 and 'data-error="link_invalid"' in expired.text
    assert await social.count("linked_identities") == 0


async def test_no_link_is_offered_to_an_account_with_a_second_factor(social: SocialAuth) -> None:
    owner = await social.password_account("totp@example.com")
    async with social.engine.begin() as connection:
        await connection.execute(
            text("UPDATE accounts SET totp_secret = 'JBSWY3DPEHPK3PXP', "
                 "totp_enabled_at = now() WHERE id = :id"), {"id": owner},
        )  # fmt: skip
    proving = await social.sign_up("totp-1", email="totp@example.com")
    assert proving.status_code == 200 and "Send me a confirmation link" not in proving.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', proving.text)
    assert csrf is None  # no form at all: signing in (with the second factor) is the proof
    assert isinstance(owner, uuid.UUID)
