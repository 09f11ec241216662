"""A brand app's `prompt=login` / `max_age` reaches the upstream provider: the login page's
"Sign in with ..." buttons ask it for a fresh sign-in, and an answer from its older session is
refused (the provider under the test's control plays one that ignores the request)."""

from __future__ import annotations

import time

from .conftest import SocialAuth

RETURN_TO = "/authorize?client_id=app_x&max_age=120"


async def test_the_login_page_asked_for_a_fresh_sign_in_passes_it_upstream(
    social: SocialAuth,
) -> None:
    page = await social.http.get("/login", params={"prompt": "login", "return_to": RETURN_TO})
    assert page.status_code == 200
    assert "/login/social/evil?return_to=" in page.text and "&amp;prompt=login" in page.text
    plain = await social.http.get("/login", params={"return_to": RETURN_TO})
    assert "prompt=login" not in plain.text


async def test_a_stale_upstream_sign_in_is_refused_when_a_fresh_one_was_asked(
    social: SocialAuth,
) -> None:
    await social.sign_up("fresh-1")
    social.http.cookies.clear()
    request = await social.start("evil", return_to="/welcome", prompt="login")
    assert request["prompt"] == "login" and request["max_age"] == "0"
    stale = social.evil.claims(request["nonce"], sub="fresh-1", auth_time=int(time.time()) - 600)
    refused = await social.callback(request, social.evil.sign(stale))
    assert refused.status_code == 400 and 'data-error="reauth_stale"' in refused.text
    assert await social.signed_in_account() is None

    request = await social.start("evil", return_to="/welcome", prompt="login")
    fresh = social.evil.claims(request["nonce"], sub="fresh-1", auth_time=int(time.time()))
    accepted = await social.callback(request, social.evil.sign(fresh))
    assert accepted.status_code == 303 and accepted.headers["location"] == "/welcome"
    assert await social.signed_in_account() is not None


async def test_without_a_fresh_sign_in_asked_the_provider_session_is_enough(
    social: SocialAuth,
) -> None:
    await social.sign_up("plain-1")
    social.http.cookies.clear()
    request = await social.start("evil", return_to="/welcome")
    assert "prompt" not in request and "max_age" not in request
    old = social.evil.claims(request["nonce"], sub="plain-1", auth_time=int(time.time()) - 600)
    accepted = await social.callback(request, social.evil.sign(old))
    assert accepted.status_code == 303 and await social.signed_in_account() is not None
