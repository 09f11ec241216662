"""What social sign-in reads from a provider (issue 12, section 3): claims only at userinfo,
the address a provider verified, `email_verified` as a JSON boolean, and error pages that name
the provider."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from sqlalchemy import text

from ciam_auth.social.idtoken import Identity

from .conftest import GOOGLE_USER, ISSUER, SocialAuth
from .test_google import through_google

VERIFIED = "dev.ciam.identity.email.verified.v1"


async def account_of(social: SocialAuth, account_id: uuid.UUID) -> dict[str, Any]:
    async with social.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT email, password_hash, email_verified_at FROM accounts WHERE id = :i"),
                {"i": account_id},
            )
        ).one()
    return {"email": row[0], "password_hash": row[1], "email_verified_at": row[2]}


async def offered_now(social: SocialAuth) -> dict[str, Any]:
    """The values the pending first sign-in offers for import (this browser's decision)."""
    pending_id = social.http.cookies.get("ciam_social_pending")
    assert pending_id
    raw = await social.runtime.redis.get(
        "social:pending:" + hashlib.sha256(pending_id.encode()).hexdigest()
    )
    assert raw is not None
    offered: dict[str, Any] = json.loads(raw)["offered"]
    return offered


async def test_claims_only_at_userinfo_still_give_the_account_its_address_and_name(
    social_userinfo: SocialAuth,
) -> None:
    social = social_userinfo
    start = await social.http.get("/login/social/google", params={"return_to": "/shop"})
    callback = await through_google(start.headers["location"], "ada")
    asked = await social.http.get(callback.removeprefix(ISSUER))
    assert asked.headers["location"] == "/login/social/continue", asked.text
    page = await social.http.get("/login/social/continue")
    assert 'value="email"' in page.text and 'value="name"' in page.text
    assert (await offered_now(social))["name"]["name"] == GOOGLE_USER["name"]
    done = await social.answer(("name",))
    assert done.status_code == 303 and done.headers["location"] == "/shop"
    account = await social.signed_in_account()
    assert account is not None
    row = await account_of(social, account)
    assert row["email"] == GOOGLE_USER["email"] and row["email_verified_at"] is not None


async def test_userinfo_about_another_subject_is_refused(social: SocialAuth) -> None:
    social.evil.userinfo = {
        "sub": "someone-else", "email": "victim@example.com", "email_verified": True,
        "name": "Victim",
    }  # fmt: skip
    request = await social.start("evil", return_to="/welcome")
    token = social.evil.sign(social.evil.claims(request["nonce"], sub="ui-1", email=None,
                                                email_verified=None, name=None))  # fmt: skip
    refused = await social.callback(request, token)
    assert refused.status_code == 400 and 'data-error="refused"' in refused.text
    assert "Sign-in with Evil did not work" in refused.text
    assert await social.count("accounts") == 0 and await social.count("linked_identities") == 0


async def test_userinfo_fills_in_only_what_the_id_token_lacks(social: SocialAuth) -> None:
    social.evil.userinfo = {
        "sub": "ui-2", "email": "ui@example.com", "email_verified": True,
        "name": "From Userinfo", "picture": "https://example.com/p.png",
    }  # fmt: skip
    request = await social.start("evil", return_to="/welcome")
    claims = social.evil.claims(
        request["nonce"], sub="ui-2", email=None, email_verified=None, name="From Token"
    )
    token = social.evil.sign(claims)
    await social.callback(request, token)
    offered = await offered_now(social)
    assert offered["name"] == {"name": "From Token"}  # the ID token's own claim stays
    assert offered["picture"] == {"picture": "https://example.com/p.png"}
    done = await social.answer(("name", "picture"))
    assert done.status_code == 303
    account = await social.signed_in_account()
    assert account is not None
    row = await account_of(social, account)
    assert row["email"] == "ui@example.com" and row["email_verified_at"] is not None


async def test_an_account_from_a_verified_email_has_its_address_verified(
    social: SocialAuth,
) -> None:
    await social.sign_up("verified-1", email="verified@example.com")
    account = await social.signed_in_account()
    assert account is not None
    row = await account_of(social, account)
    assert row["email"] == "verified@example.com" and row["email_verified_at"] is not None
    assert VERIFIED in await social.outbox_types()


async def test_the_string_true_from_a_generic_provider_is_not_a_verification(
    social: SocialAuth,
) -> None:
    await social.sign_up("string-1", email="string@example.com", email_verified="true")
    account = await social.signed_in_account()
    assert account is not None
    row = await account_of(social, account)
    assert row["email"] is None and row["email_verified_at"] is None
    assert VERIFIED not in await social.outbox_types()

    # Nor does it reach an existing account with that address.
    social.http.cookies.clear()
    await social.password_account("owner-s@example.com")
    request = await social.start("evil", return_to="/welcome")
    token = social.evil.sign(social.evil.claims(request["nonce"], sub="string-2",
                                                email="owner-s@example.com",
                                                email_verified="true"))  # fmt: skip
    refused = await social.callback(request, token)
    assert refused.status_code == 409 and 'data-error="unverified"' in refused.text


def test_only_apple_s_preset_reads_the_string_true_as_verified() -> None:
    claims = {"sub": "s", "email": "a@example.com", "email_verified": "true"}
    assert not Identity("https://idp", "s", claims).email_verified
    assert Identity("https://idp", "s", claims, verified_as_string=True).email_verified
    assert not Identity("https://idp", "s", claims | {"email_verified": 1}).email_verified
    assert Identity("https://idp", "s", claims | {"email_verified": True}).email_verified


def title_of(page: Any) -> str:
    found = re.search(r"<h1>([^<]*)</h1>", page.text)
    assert found, page.text
    return found.group(1)


async def test_every_error_page_names_the_provider_or_none(social: SocialAuth) -> None:
    pages = []
    # Nothing pending in this browser, or a provider that does not exist: no name to give.
    pages.append(("", await social.http.get("/login/social/continue")))
    pages.append(("", await social.http.get("/login/social/nope")))
    # A pending first sign-in with Evil.
    request = await social.start("evil", return_to="/welcome")
    await social.callback(request, social.evil.sign(social.evil.claims(request["nonce"],
                                                                       sub="err-1")))  # fmt: skip
    page = await social.http.get("/login/social/continue")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    wrong = {"csrf_token": "wrong", "decision": "accept"}
    pages.append(("Evil", await social.http.post("/login/social/continue", data=wrong)))
    pages.append(("Evil", await social.http.get("/login/social/confirm", params={"token": "x"})))
    confirm = {"csrf_token": csrf.group(1), "token": "x", "decision": "accept"}
    pages.append(("Evil", await social.http.post("/login/social/confirm", data=confirm)))

    for provider, error in pages:
        assert error.status_code >= 400, error.text
        assert "with  did" not in error.text and "przez  nie" not in error.text
        if provider:
            assert title_of(error) == f"Sign-in with {provider} did not work"
        else:
            assert title_of(error) == "Sign-in did not work"

    # A second submit of the same page: the decision was used up.
    answer = {"csrf_token": csrf.group(1), "decision": "accept"}
    first = await social.http.post("/login/social/continue", data=answer)
    assert first.status_code == 303
    again = await social.http.post("/login/social/continue", data=answer)
    assert title_of(again) in ("Sign-in did not work", "Sign-in with Evil did not work")
    assert "with  did" not in again.text
