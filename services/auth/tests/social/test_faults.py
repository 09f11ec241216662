"""Every fault a certified relying party must refuse: none yields a session, an account or a
linked identity, and the customer sees a clear page."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from joserfc.jwk import RSAKey

from .conftest import SocialAuth
from .evil import EvilProvider

Forge = Callable[[EvilProvider, str], str]
NOW = int(time.time())

FAULTS: dict[str, tuple[Forge, str]] = {
    "bad signature": (
        lambda e, n: e.sign(e.claims(n), key=RSAKey.generate_key(2048)),
        "bad signature",
    ),
    "wrong iss": (lambda e, n: e.sign(e.claims(n, iss="https://accounts.google.com")), "wrong iss"),
    "wrong aud": (lambda e, n: e.sign(e.claims(n, aud="someone-else")), "wrong aud"),
    "wrong azp": (lambda e, n: e.sign(e.claims(n, aud=["evil-client", "x"], azp="x")), "wrong azp"),
    "several audiences, no azp": (
        lambda e, n: e.sign(e.claims(n, aud=["evil-client", "x"])),
        "several audiences and no azp",
    ),
    "expired": (
        lambda e, n: e.sign(e.claims(n, iat=int(time.time()) - 400, exp=int(time.time()) - 120)),
        "expired",
    ),
    "missing nonce": (lambda e, n: e.sign(e.claims(n, nonce=None)), "nonce missing"),
    "wrong nonce": (lambda e, n: e.sign(e.claims(n, nonce="not-the-one")), "wrong nonce"),
    "iat far in the future": (
        lambda e, n: e.sign(
            e.claims(n, iat=int(time.time()) + 86400, exp=int(time.time()) + 90000)
        ),
        "iat in the future",
    ),
    "alg none": (lambda e, n: e.unsigned(e.claims(n)), "algorithm not allowed: 'none'"),
    "HS256 keyed with the public key": (
        lambda e, n: e.hs256_with_public_key(e.claims(n)),
        "algorithm not allowed: 'HS256'",
    ),
    "unknown kid": (lambda e, n: e.sign(e.claims(n), kid="k-unknown"), "unknown kid"),
    "missing sub": (lambda e, n: e.sign(e.claims(n, sub=None)), "sub missing"),
    "missing exp": (lambda e, n: e.sign(e.claims(n, exp=None)), "exp missing"),
    "iat too old (a replay)": (
        lambda e, n: e.sign(e.claims(n, iat=int(time.time()) - 3600)),
        "iat too old",
    ),
    "nbf in the future": (
        lambda e, n: e.sign(e.claims(n, nbf=int(time.time()) + 3600)),
        "not yet valid (nbf)",
    ),
    "an access token (typ at+jwt)": (
        lambda e, n: e.sign(e.claims(n), typ="at+jwt"),
        "typ is not JWT",
    ),
    "not a JWT": (lambda e, n: "garbage", "not a compact JWS"),
}


async def assert_nothing_created(social: SocialAuth, accounts_before: int = 0) -> None:
    assert await social.signed_in_account() is None
    assert await social.count("accounts") == accounts_before
    assert await social.count("linked_identities") == 0


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_forged_id_token_is_refused_and_logged_with_its_reason(
    social: SocialAuth, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    forge, reason = FAULTS[fault]
    request = await social.start()
    with caplog.at_level(logging.WARNING, logger="ciam_auth.social.idtoken"):
        response = await social.callback(request, forge(social.evil, request["nonce"]))
    assert response.status_code == 400, response.text
    assert 'data-error="refused"' in response.text
    refusals = [r for r in caplog.records if r.getMessage() == "id token refused"]
    assert [r.__dict__["reason"] for r in refusals] == [reason]
    assert request["nonce"] not in caplog.text  # no token contents in the log
    await assert_nothing_created(social)


async def test_an_unverified_email_cannot_claim_an_existing_account(social: SocialAuth) -> None:
    await social.password_account("victim@example.com")
    request = await social.start()
    forged = social.evil.claims(request["nonce"], email="victim@example.com", email_verified=False)
    response = await social.callback(request, social.evil.sign(forged))
    assert response.status_code == 409 and 'data-error="unverified"' in response.text
    await assert_nothing_created(social, accounts_before=1)


async def test_a_verified_email_of_an_existing_account_asks_for_proof_not_a_session(
    social: SocialAuth,
) -> None:
    await social.password_account("owner@example.com")
    request = await social.start()
    claims = social.evil.claims(request["nonce"], email="owner@example.com")
    response = await social.callback(request, social.evil.sign(claims))
    assert response.status_code == 303
    page = await social.http.get(response.headers["location"])
    assert page.status_code == 200 and "/login?return_to=%2Flogin%2Fsocial%2Fcontinue" in page.text
    await assert_nothing_created(social, accounts_before=1)


async def test_the_authorization_response_must_name_the_provider_as_issuer(
    social: SocialAuth,
) -> None:
    """RFC 9207 mix-up defence: a response claiming another issuer, or none, is refused."""
    for iss in ("https://accounts.google.com", ""):
        request = await social.start()
        token = social.evil.sign(social.evil.claims(request["nonce"]))
        code = social.evil.issue(token, request["code_challenge"])
        params = {"code": code, "state": request["state"]} | ({"iss": iss} if iss else {})
        response = await social.http.get("/login/social/evil/callback", params=params)
        assert response.status_code == 400 and 'data-error="refused"' in response.text
        assert code in social.evil.codes  # refused before the code was even redeemed
    await assert_nothing_created(social)


async def test_a_replayed_or_forged_state_is_refused(social: SocialAuth) -> None:
    request = await social.start()
    token = social.evil.sign(social.evil.claims(request["nonce"], email="x@example.com"))
    forged = await social.callback(request | {"state": "made-up"}, token)
    assert forged.status_code == 400 and 'data-error="expired"' in forged.text
    first = await social.callback(request, token)
    assert first.status_code == 303
    social.http.cookies.clear()
    again = await social.callback(request, token)
    assert again.status_code == 400 and 'data-error="expired"' in again.text


async def test_a_callback_in_another_browser_is_refused(social: SocialAuth) -> None:
    """Login CSRF: the state is bound to the browser that started the flow."""
    request = await social.start()
    social.http.cookies.clear()
    token = social.evil.sign(social.evil.claims(request["nonce"]))
    response = await social.callback(request, token)
    assert response.status_code == 400 and 'data-error="expired"' in response.text
    await assert_nothing_created(social)


async def test_a_discovery_document_naming_another_issuer_is_refused(social: SocialAuth) -> None:
    social.evil.issuer_in_discovery = "https://accounts.google.com"
    response = await social.http.get("/login/social/evil")
    assert response.status_code == 502 and 'data-error="unavailable"' in response.text
    await assert_nothing_created(social)


@pytest.mark.parametrize("mode", ["slow", "garbage", "500"])
async def test_a_slow_or_broken_token_endpoint_gives_a_clear_page(
    social: SocialAuth, mode: str
) -> None:
    request = await social.start()
    token = social.evil.sign(social.evil.claims(request["nonce"]))
    social.evil.mode = mode
    response = await social.callback(request, token)
    social.evil.mode = "ok"
    assert response.status_code == 502 and 'data-error="unavailable"' in response.text
    await assert_nothing_created(social)


async def test_a_provider_that_is_down_gives_a_clear_page(social: SocialAuth) -> None:
    social.evil.mode = "garbage"
    response = await social.http.get("/login/social/evil")
    social.evil.mode = "ok"
    assert response.status_code == 502 and 'data-error="unavailable"' in response.text
    unknown = await social.http.get("/login/social/nope")
    assert unknown.status_code == 404
    await assert_nothing_created(social)


async def test_a_cancelled_sign_in_says_so(social: SocialAuth) -> None:
    request = await social.start()
    response = await social.http.get(
        "/login/social/evil/callback",
        params={"error": "access_denied", "state": request["state"], "iss": social.evil.issuer},
    )
    assert response.status_code == 400 and 'data-error="cancelled"' in response.text
    await assert_nothing_created(social)


async def test_a_form_post_callback_is_refused_from_another_browser_and_accepted_from_this_one(
    social: SocialAuth,
) -> None:
    """Apple answers with a form POST (response_mode=form_post) to the same callback."""
    request = await social.start("evilpost")
    assert request["response_mode"] == "form_post"
    token = social.evil.sign(social.evil.claims(request["nonce"], sub="post-1"))
    form = {"code": social.evil.issue(token, request["code_challenge"]),
            "state": request["state"], "iss": social.evil.issuer}  # fmt: skip
    social.http.cookies.clear()  # another browser posts this browser's answer
    stranger = await social.http.post("/login/social/evilpost/callback", data=form)
    assert stranger.status_code == 400 and 'data-error="expired"' in stranger.text
    request = await social.start("evilpost")
    token = social.evil.sign(social.evil.claims(request["nonce"], sub="post-1"))
    form = {"code": social.evil.issue(token, request["code_challenge"]),
            "state": request["state"], "iss": social.evil.issuer}  # fmt: skip
    response = await social.http.post("/login/social/evilpost/callback", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/login/social/continue"
