"""A social sign-in is a first factor: it is published like a password sign-in, and an
account with TOTP still gives its code before any session exists."""

from __future__ import annotations

import json
import re

from sqlalchemy import text

from ciam_auth.adapters import totp
from ciam_auth.adapters.sealing import seal_text, totp_context

from .conftest import SocialAuth

SIGNED_IN = "dev.ciam.identity.user.signed-in.v1"


async def signed_in_methods(social: SocialAuth) -> list[list[str]]:
    async with social.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT payload FROM outbox WHERE event_type = :t ORDER BY seq"), {"t": SIGNED_IN}
        )
        payloads = [json.loads(r[0]) for r in rows]  # CloudEvents binary mode: the data
    return [p["methods"] for p in payloads]


async def test_a_social_sign_in_is_published_with_its_method(social: SocialAuth) -> None:
    await social.sign_up("published-1")
    social.http.cookies.clear()
    again = await social.sign_up("published-1")
    assert again.status_code == 303 and await social.signed_in_account() is not None
    assert await signed_in_methods(social) == [["fed"], ["fed"]]


async def test_totp_is_asked_after_a_social_sign_in(social: SocialAuth) -> None:
    await social.sign_up("totp-1")
    account_id = await social.signed_in_account()
    assert account_id is not None
    secret = totp.new_secret()
    sealed = seal_text(social.runtime.parts.context.sealing, secret, totp_context(account_id))
    async with social.engine.begin() as connection:
        await connection.execute(
            text("UPDATE accounts SET totp_secret = :s, totp_enabled_at = now() WHERE id = :id"),
            {"s": sealed, "id": account_id},
        )
    social.http.cookies.clear()

    page = await social.sign_up("totp-1")
    # The provider's word alone opens no session: the TOTP page, as after a password.
    assert page.status_code == 200 and 'name="mfa_token"' in page.text
    assert await social.signed_in_account() is None
    mfa_token = re.search(r'name="mfa_token" value="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert mfa_token and csrf
    wrong = "000000" if totp.hotp(secret, totp.current_step()) != "000000" else "111111"
    # The account pages set Secure cookies outside development: post over https.
    refused = await social.http.post(
        "https://testserver/login/totp",
        data={"mfa_token": mfa_token.group(1), "code": wrong, "csrf": csrf.group(1)},
    )
    assert refused.status_code == 401 and await social.signed_in_account() is None
    done = await social.http.post(
        "https://testserver/login/totp",
        data={
            "mfa_token": mfa_token.group(1),
            "code": totp.hotp(secret, totp.current_step()),
            "csrf": csrf.group(1),
            "return_to": "/welcome",
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/welcome", done.text
    assert await social.signed_in_account() == account_id
    assert (await signed_in_methods(social))[-1] == ["fed", "otp", "mfa"]
