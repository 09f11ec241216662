"""Every page shares one design: the layout's style sheet and script, served by auth itself
under a CSP that allows scripts only from auth (no inline script), times the browser shows in
its own time zone, sessions as a list that fits a phone, and pages that say what happened after
signing out or deleting the account."""

from __future__ import annotations

import re

from ..conftest import PASSWORD, Auth

PAGES = ["/login", "/register", "/reset-password", "/verify-email", "/signed-out"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def _signed_in(auth: Auth, address: str) -> None:
    await auth.verified_account(address)
    signed_in = await auth.client.post(
        "/v1/sessions", json={"email": address, "password": PASSWORD}
    )
    assert signed_in.status_code in (200, 201), signed_in.text


async def test_every_page_uses_the_shared_layout_under_one_policy(auth: Auth) -> None:
    for path in PAGES:
        page = await auth.client.get(path)
        assert page.status_code == 200, path
        assert '<link rel="stylesheet" href="/assets/auth.css">' in page.text, path
        assert '<script src="/assets/auth.js" defer></script>' in page.text, path
        assert page.text.count("<h1>") == 1, path
        policy = page.headers["content-security-policy"]
        assert (
            "script-src 'self'" in policy
            and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        ), path
        assert (
            "frame-ancestors 'none'" in policy
            and page.headers["x-content-type-options"] == "nosniff"
        )
        assert "<script>" not in page.text, path  # nothing inline a CSP would have to allow


async def test_the_style_sheet_and_script_are_served_with_their_types(auth: Auth) -> None:
    css = await auth.client.get("/assets/auth.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"
    js = await auth.client.get("/assets/auth.js")
    assert js.headers["content-type"].startswith("text/javascript") and "data-local" in js.text
    again = await auth.client.get("/assets/auth.js", headers={"if-none-match": js.headers["etag"]})
    assert again.status_code == 304
    for missing in ("/assets/nothing.css", "/assets/..%2Fpages.py", "/assets/auth.py"):
        assert (await auth.client.get(missing)).status_code == 404, missing


async def test_sessions_are_a_list_with_local_times_and_translated_devices(auth: Auth) -> None:
    await _signed_in(auth, "design@example.com")
    page = await auth.client.get("/account", headers={"accept-language": "pl"})
    assert page.status_code == 200
    assert "<table" not in page.text  # a table overflowed a 375 px screen
    assert '<ul class="items sessions">' in page.text
    # The fixture's browser: "Chrome on Windows", signed in over the API, here in Polish, with
    # a time auth.js localises.
    assert "Chrome, Windows" in page.text and "bezpośrednio przez aplikację" in page.text
    assert re.search(
        r'<time datetime="[0-9T:.+-]+" data-local>\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>', page.text
    )
    assert "zalogowany" not in page.text


async def test_signing_out_ends_on_a_page_that_says_so(auth: Auth) -> None:
    await _signed_in(auth, "bye@example.com")
    account = await auth.client.get("/account?ui_locales=pl")
    out = await auth.client.post(
        "/logout", data={"csrf": csrf_of(account.text), "ui_locales": "pl"}
    )
    assert out.status_code == 303 and out.headers["location"] == "/signed-out?ui_locales=pl"
    page = await auth.client.get(out.headers["location"])
    assert "<h1>Wylogowano</h1>" in page.text and 'href="/login?ui_locales=pl"' in page.text


async def test_deleting_the_account_ends_on_a_page_that_says_so(auth: Auth) -> None:
    await _signed_in(auth, "gone@example.com")
    account = await auth.client.get("/account?ui_locales=en")
    gone = await auth.client.post(
        "/account/delete?ui_locales=en", data={"csrf": csrf_of(account.text), "password": PASSWORD}
    )
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/privacy/deletion/")
    assert gone.headers["location"].endswith("?ui_locales=en")
    page = await auth.client.get(gone.headers["location"])
    assert "<h1>Account deletion</h1>" in page.text
    assert (await auth.client.get("/v1/me")).status_code == 401


async def test_totp_set_up_shows_a_qr_code_and_offers_the_recovery_codes_as_a_file(
    auth: Auth,
) -> None:
    from urllib.parse import unquote

    from ciam_auth.adapters import totp

    await _signed_in(auth, "qr@example.com")
    account = await auth.client.get("/account")
    setup = await auth.client.post("/account/totp", data={"csrf": csrf_of(account.text)})
    assert re.search(r'<img class="qr" src="data:image/svg\+xml;[^"]+" alt="[^"]+"', setup.text)
    assert "img-src 'self' data:" in setup.headers["content-security-policy"]
    secret = re.search(r"<code>([A-Z2-7]+)</code>", setup.text).group(1)  # type: ignore[union-attr]
    codes = await auth.client.post(
        "/account/totp/confirm",
        data={"code": totp.hotp(secret, totp.current_step()), "csrf": csrf_of(setup.text)},
    )
    shown = re.findall(r"<li><code>([a-z0-9-]{14})</code></li>", codes.text)
    link = re.search(
        r'href="data:text/plain;charset=utf-8,([^"]+)" download="recovery-codes.txt"', codes.text
    )
    assert link and len(shown) == 10
    assert unquote(link.group(1)).splitlines()[2:] == shown
