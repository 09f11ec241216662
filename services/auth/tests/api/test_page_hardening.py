"""Issue 12's page holes: security headers on every page, the form token bound to the session,
and cookie-authenticated state changes only from our own origin and (for the JSON API) as JSON.
"""

from __future__ import annotations

import re

import httpx

from ..conftest import PASSWORD, Auth

EMAIL = "pages-hardening@example.com"
OURS = "https://testserver"  # the test client's origin


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


async def _token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return field(page.text, "csrf")


async def _sign_in(client: httpx.AsyncClient, csrf: str) -> None:
    response = await client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf": csrf}
    )
    assert response.status_code == 303, response.text


async def test_every_page_says_nosniff_and_its_referrer_policy(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    paths = ["/login", "/register", "/reset-password", "/verify-email", "/account", "/no-such-page"]
    await _sign_in(auth.client, await _token(auth.client, "/login"))
    for path in paths:
        response = await auth.client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "same-origin", path
    api = await auth.client.get("/v1/me")
    assert api.headers["x-content-type-options"] == "nosniff"


async def test_a_form_token_from_before_sign_in_is_refused_after_it(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    before = await _token(auth.client, "/login")
    await _sign_in(auth.client, before)
    stale = await auth.client.post("/logout", data={"csrf": before})
    assert stale.status_code == 403
    assert (await auth.client.get("/v1/me")).status_code == 200  # still signed in
    fresh = await _token(auth.client, "/account")
    assert fresh != before
    out = await auth.client.post("/logout", data={"csrf": fresh})
    assert out.status_code == 303
    assert (await auth.client.get("/v1/me")).status_code == 401


async def test_a_form_token_of_another_session_is_refused_even_with_its_cookie(
    auth: Auth,
) -> None:
    """The attacker signs in, and plants its CSRF cookie in the victim's browser (a sibling
    subdomain can set cookies): its token names its own session, not the victim's."""
    await auth.verified_account(EMAIL)
    await _sign_in(auth.client, await _token(auth.client, "/login"))
    async with auth.other_client("192.0.2.77") as attacker:
        await _sign_in(attacker, await _token(attacker, "/login"))
        token = await _token(attacker, "/account")
        planted = attacker.cookies["ciam_csrf"]
    auth.client.cookies.delete("ciam_csrf")
    auth.client.cookies.set("ciam_csrf", planted)
    forged = await auth.client.post("/logout", data={"csrf": token})
    assert forged.status_code == 403
    assert (await auth.client.get("/v1/me")).status_code == 200


async def test_a_form_post_from_another_origin_is_refused_with_a_valid_token(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    await _sign_in(auth.client, await _token(auth.client, "/login"))
    token = await _token(auth.client, "/account")
    for headers in (
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ):
        refused = await auth.client.post("/logout", data={"csrf": token}, headers=headers)
        assert refused.status_code == 403, headers
    assert (await auth.client.get("/v1/me")).status_code == 200
    ours = await auth.client.post(
        "/logout", data={"csrf": token}, headers={"origin": OURS, "sec-fetch-site": "same-origin"}
    )
    assert ours.status_code == 303


async def test_totp_setup_refuses_text_plain_and_foreign_origins(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    signed_in = await auth.client.post("/v1/sessions", json={"email": EMAIL, "password": PASSWORD})
    assert signed_in.status_code == 200
    plain = await auth.client.post(
        "/v1/me/totp", content=b"{}", headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 415
    assert plain.headers["content-type"] == "application/problem+json"
    form = await auth.client.post("/v1/me/totp", data={"a": "b"})
    assert form.status_code == 415
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        foreign = await auth.client.post("/v1/me/totp", json={}, headers=headers)
        assert foreign.status_code == 403, headers
        assert foreign.json()["type"].endswith("/csrf")
    ours = await auth.client.post("/v1/me/totp", json={}, headers={"origin": OURS})
    assert ours.status_code == 200, ours.text
    assert "otpauth_uri" in ours.json()
    # Other state changes of the same API are held to the same rule.
    foreign_delete = await auth.client.request(
        "DELETE",
        "/v1/me",
        json={"password": PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert foreign_delete.status_code == 403
    assert (await auth.client.get("/v1/me")).status_code == 200
