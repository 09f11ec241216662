"""Re-authentication of a social-only account through a linked identity, and setting its first
password. The certified provider (oidc-provider) plays Google where it can; the provider under
the test's control plays one that ignores `prompt=login`/`max_age` (a stale `auth_time`),
which oidc-provider never does."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from ciam_auth.adapters import totp
from ciam_devtools.testing.plugin import eventually
from ciam_shared.events import decode
from ciam_shared.topics import IDENTITY_EVENTS

from .conftest import ISSUER, SocialAuth, query_of
from .test_google import google_sign_in, through_google

DELETED = "dev.ciam.identity.user.deleted.v1"
NEW_PASSWORD = "a brand new passphrase 42"


def needs_google(social: SocialAuth) -> None:
    if social.settings.social_providers[-1].id != "google":
        pytest.skip("Node.js or tests/idp/node_modules missing (make node-deps)")


async def reauth_with_google(social: SocialAuth, login: str) -> httpx.Response:
    """The customer clicks "Sign in again with Google" on the account page."""
    start = await social.http.get(
        "/login/social/google", params={"intent": "reauth", "return_to": "/account"}
    )
    assert start.status_code == 303, start.text
    request = query_of(start.headers["location"])
    assert request["prompt"] == "login" and request["max_age"] == "0"
    callback = await through_google(start.headers["location"], login)
    return await social.http.get(callback.removeprefix(ISSUER))


async def reauth_with_evil(social: SocialAuth, sub: str, **claims: object) -> httpx.Response:
    request = await social.start("evil", intent="reauth", return_to="/account")
    assert request["prompt"] == "login" and request["max_age"] == "0"
    token = social.evil.sign(social.evil.claims(request["nonce"], sub=sub, **claims))
    return await social.callback(request, token)


async def me(social: SocialAuth) -> dict[str, object]:
    response = await social.http.get("/v1/me")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def delete_me(social: SocialAuth, **body: str) -> httpx.Response:
    return await social.http.request("DELETE", "/v1/me", json=body)


async def published_types(social: SocialAuth, kafka_bootstrap: str, subject: uuid.UUID) -> None:
    """Waits until UserDeleted of `subject` is on the identity topic."""
    consumer = AIOKafkaConsumer(
        IDENTITY_EVENTS.name(social.runtime.topic_prefix),
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    seen: list[str] = []
    try:

        async def deleted() -> bool:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    event = decode(dict(r.headers), r.value)
                    if event.subject == str(subject):
                        seen.append(event.type)
            return DELETED in seen

        await eventually(deleted)
    finally:
        await consumer.stop()


async def test_a_social_only_account_deletes_itself_after_signing_in_again_at_google(
    social: SocialAuth, kafka_bootstrap: str
) -> None:
    needs_google(social)
    await google_sign_in(social, "ada", ())
    account = await social.signed_in_account()
    assert account is not None
    assert (await me(social))["has_password"] is False

    refused = await delete_me(social)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("reauthentication-required")
    page = await social.http.get("/account", headers={"accept-language": "pl"})
    assert "Zaloguj się ponownie przez Google" in page.text
    assert 'href="/login/social/google?intent=reauth&amp;return_to=/account"' in page.text

    back = await reauth_with_google(social, "ada")
    assert back.status_code == 303 and back.headers["location"] == "/account"
    assert (await me(social))["reauthenticated_until"] is not None
    assert (await social.http.get("/account")).text.count("Confirmed until") == 1

    deleted = await delete_me(social)
    assert deleted.status_code == 204, deleted.text
    assert await social.count("accounts") == 0 and await social.count("linked_identities") == 0
    assert DELETED in await social.outbox_types()
    await published_types(social, kafka_bootstrap, account)


async def test_reauthentication_with_another_accounts_identity_is_refused(
    social: SocialAuth,
) -> None:
    needs_google(social)
    await google_sign_in(social, "ada", ())
    social.http.cookies.clear()
    await google_sign_in(social, "bob", ())
    bob = await social.signed_in_account()

    refused = await reauth_with_google(social, "ada")  # ada's identity, bob's session
    assert refused.status_code == 403 and 'data-error="reauth_other"' in refused.text
    assert await social.signed_in_account() == bob
    assert (await me(social))["reauthenticated_until"] is None
    assert (await delete_me(social)).status_code == 403
    assert await social.count("linked_identities") == 2 and await social.count("accounts") == 2


async def test_an_identity_linked_to_no_account_is_refused_and_not_linked(
    social: SocialAuth,
) -> None:
    await social.sign_up("mine-1", email="mine@example.com")
    refused = await reauth_with_evil(social, "stranger-1", auth_time=int(time.time()))
    assert refused.status_code == 403 and 'data-error="reauth_other"' in refused.text
    assert await social.count("linked_identities") == 1
    assert (await me(social))["reauthenticated_until"] is None


async def test_a_stale_or_missing_auth_time_is_refused(social: SocialAuth) -> None:
    await social.sign_up("stale-1", email="stale@example.com")
    # A provider that answered from its own hour-old session instead of asking again.
    stale = await reauth_with_evil(social, "stale-1", auth_time=int(time.time()) - 3600)
    assert stale.status_code == 400 and 'data-error="reauth_stale"' in stale.text
    missing = await reauth_with_evil(social, "stale-1")
    assert missing.status_code == 400 and 'data-error="reauth_stale"' in missing.text
    assert (await me(social))["reauthenticated_until"] is None
    assert (await delete_me(social)).status_code == 403

    fresh = await reauth_with_evil(social, "stale-1", auth_time=int(time.time()))
    assert fresh.status_code == 303 and fresh.headers["location"] == "/account"
    assert (await me(social))["reauthenticated_until"] is not None


async def test_reauthentication_needs_a_session(social: SocialAuth) -> None:
    response = await social.http.get("/login/social/evil", params={"intent": "reauth"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?return_to=")


async def test_a_set_password_lets_the_customer_unlink_the_last_identity(
    social: SocialAuth,
) -> None:
    await social.sign_up("carol-1", email="carol@example.com")
    account = await social.signed_in_account()
    listing = (await social.http.get("/v1/me/identities")).json()
    identity, csrf = listing["identities"][0]["id"], {"x-csrf-token": listing["csrf_token"]}
    last = await social.http.delete(f"/v1/me/identities/{identity}", headers=csrf)
    assert last.status_code == 409

    password = {"new_password": NEW_PASSWORD}
    refused = await social.http.post("/v1/me/password", json=password)
    assert refused.status_code == 403
    assert (
        await reauth_with_evil(social, "carol-1", auth_time=int(time.time()))
    ).status_code == 303
    done = await social.http.post("/v1/me/password", json=password)
    assert done.status_code == 200, done.text
    assert (await me(social))["has_password"] is True
    assert "dev.ciam.identity.password.changed.v1" in await social.outbox_types()

    # With a password, the password is what sensitive changes need (the re-auth is not enough).
    without = await delete_me(social)
    assert without.status_code == 403
    assert without.json()["type"].endswith("reauthentication-failed")

    unlinked = await social.http.delete(f"/v1/me/identities/{identity}", headers=csrf)
    assert unlinked.status_code == 204, unlinked.text
    social.http.cookies.clear()
    signed_in = await social.http.post(
        "/v1/sessions", json={"email": "carol@example.com", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code in (200, 201), signed_in.text
    assert await social.signed_in_account() == account


async def test_the_account_page_sets_a_password_after_reauthentication(
    social: SocialAuth,
) -> None:
    await social.sign_up("dave-1", email="dave@example.com")
    # The pages' CSRF cookie is Secure outside development: speak https to get it back.
    social.http.base_url = httpx.URL("https://testserver")
    page = await social.http.get("/account")
    assert "Set a password" in page.text and 'name="current_password"' not in page.text
    assert 'name="password"' not in page.text  # no password field to fill in anywhere
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    form = {"csrf": csrf.group(1), "new_password": NEW_PASSWORD}
    refused = await social.http.post("/account/password", data=form)
    assert refused.status_code == 403, refused.text
    assert "Sign in again with a linked account" in refused.text, refused.text[:2500]
    await reauth_with_evil(social, "dave-1", auth_time=int(time.time()))
    done = await social.http.post("/account/password", data=form)
    assert done.status_code == 303 and done.headers["location"] == "/account?done=password"
    assert (await me(social))["has_password"] is True


async def test_an_account_without_an_address_cannot_set_a_password(social: SocialAuth) -> None:
    await social.sign_up("noaddr-1", email_verified=False, email="x@example.com")
    assert (await me(social))["email"] is None
    await reauth_with_evil(social, "noaddr-1", auth_time=int(time.time()))
    refused = await social.http.post("/v1/me/password", json={"new_password": NEW_PASSWORD})
    assert refused.status_code == 409 and refused.json()["type"].endswith("no-email-address")


async def test_a_social_only_account_turns_off_totp_and_changes_its_address_after_reauth(
    social: SocialAuth, mailbox: Any
) -> None:
    await social.sign_up("erin-1", email="erin@example.com")
    secret = (await social.http.post("/v1/me/totp")).json()["secret"]
    code = totp.hotp(secret, totp.current_step())
    confirmed = await social.http.post("/v1/me/totp/confirm", json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    off = await social.http.request("DELETE", "/v1/me/totp", json={})
    assert off.status_code == 403
    moved = await social.http.post("/v1/me/email", json={"new_email": "erin2@example.com"})
    assert moved.status_code == 403

    await reauth_with_evil(social, "erin-1", auth_time=int(time.time()))
    off = await social.http.request("DELETE", "/v1/me/totp", json={})
    assert off.status_code == 204, off.text
    assert (await me(social))["totp_enabled"] is False
    moved = await social.http.post("/v1/me/email", json={"new_email": "erin2@example.com"})
    assert moved.status_code == 202, moved.text
    await mailbox.wait_for("erin2@example.com")  # the new address confirms with its link
