"""A sign-in inside a brand app's frame (embedding.py): it sets a partitioned session cookie
(`__Host-`, Secure, HttpOnly, SameSite=None, Partitioned) and leaves the top-level cookie
alone; the session is bound to the app and read only in its frames, never top level nor in
another app's frame; forms in the frame keep their Origin and CSRF checks (with a partitioned
CSRF cookie); a browser that keeps no cookie in the frame is shown the way to a new window."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from sqlalchemy import text

from ciam_auth.adapters import totp
from ciam_auth.adapters.sealing import seal_text, totp_context
from ciam_auth.embedding import EMBED_CSRF_COOKIE, EMBED_SESSION_COOKIE
from ciam_auth.sessions.store import COOKIE, session_id_of
from ciam_auth.web import CSRF_COOKIE
from ciam_shared.db import create_engine

from .conftest import OURS, Privacy, csrf_of, state_of
from .test_embedding import SHOP, brand_app, frame_ancestors

FRAMED = {"sec-fetch-dest": "iframe", "sec-fetch-site": "cross-site"}
# A form posted in the frame: a navigation of the frame, from auth's own page.
POSTED_IN_FRAME = {"origin": OURS, "sec-fetch-dest": "iframe", "sec-fetch-site": "same-origin"}
TOP_LEVEL = {"sec-fetch-dest": "document", "sec-fetch-site": "none"}
PASSWORD = "a long passphrase for the frame"
PARTITIONED = ("Path=/", "Secure", "HttpOnly", "SameSite=None", "Partitioned")


async def customer(privacy: Privacy, email: str, *, totp_secret: str | None = None) -> uuid.UUID:
    """An account with a password (and TOTP when given), its address confirmed."""
    context = privacy.runtime.parts.context
    account_id = uuid.uuid4()
    sealed = None
    if totp_secret is not None:
        sealed = seal_text(context.sealing, totp_secret, totp_context(account_id))
    engine = create_engine(privacy.database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO accounts (id, email, password_hash, created_at, email_verified_at,"
                 " totp_secret, totp_enabled_at) VALUES (:id, :email, :hash, now(), now(), :totp,"
                 " :enabled)"),
            {"id": account_id, "email": email, "hash": await context.passwords.hash(PASSWORD),
             "totp": sealed, "enabled": datetime.now(UTC) if sealed else None},
        )  # fmt: skip
    await engine.dispose()
    return account_id


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """The response's Set-Cookie headers by cookie name (the whole header)."""
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def attributes(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")[1:]}


async def sign_in_framed(
    browser: httpx.AsyncClient, shop: str, email: str = "framed@example.com"
) -> httpx.Response:
    """The customer's way in the frame: the privacy page's offer, the framed sign-in form, the
    post; returns the post's answer."""
    offer = await browser.get(f"/privacy?client_id={shop}", headers=FRAMED)
    assert offer.status_code == 401
    here = html.unescape(offer.text).split('<a class="button" href="')[1].split('"')[0]
    form = await browser.get(here, headers=FRAMED | {"sec-fetch-site": "same-origin"})
    assert form.status_code == 200, form.text
    return await browser.post(
        f"/login?client_id={shop}",
        data={
            "email": email,
            "password": PASSWORD,
            "csrf": csrf_of(form.text),
            "return_to": f"/privacy?client_id={shop}",
        },
        headers=POSTED_IN_FRAME,
    )


async def test_a_sign_in_in_the_frame_sets_a_partitioned_cookie_bound_to_the_app(
    privacy: Privacy,
) -> None:
    shop = await brand_app(privacy)
    await customer(privacy, "framed@example.com")
    async with privacy.other_browser() as browser:
        form = await browser.get(
            f"/login?client_id={shop}&return_to=/privacy?client_id={shop}", headers=FRAMED
        )
        # The sign-in may be framed by the app's origins; its CSRF secret is partitioned.
        assert frame_ancestors(form.headers["content-security-policy"]) == SHOP
        assert "x-frame-options" not in form.headers
        cookies = set_cookies(form)
        assert set(cookies) == {EMBED_CSRF_COOKIE}
        assert attributes(cookies[EMBED_CSRF_COOKIE]) >= set(PARTITIONED)
        assert f'action="/login?client_id={shop}"' in form.text
        # What cannot work in a frame is offered in a new window instead.
        assert "data-passkey-signin" not in form.text and "/login/social/" not in form.text
        assert 'target="_blank"' in form.text

        posted = await sign_in_framed(browser, shop)
        assert posted.status_code == 303, posted.text
        landing = urlsplit(posted.headers["location"])
        assert landing.path == "/login/embedded"
        assert parse_qs(landing.query) == {
            "return_to": [f"/privacy?client_id={shop}"],
            "client_id": [shop],
        }
        cookies = set_cookies(posted)
        # Only the partitioned session: the top-level session and device cookies stay as they are.
        assert set(cookies) == {EMBED_SESSION_COOKIE}
        header = cookies[EMBED_SESSION_COOKIE]
        assert header.startswith("__Host-ciam_embed=")
        assert attributes(header) >= set(PARTITIONED)
        assert not any(a.lower().startswith("domain") for a in attributes(header))
        secret = header.split("=", 1)[1].split(";")[0]
        session = await privacy.runtime.parts.sessions.get(session_id_of(secret))
        assert session is not None and session.embed == shop

        landed = await browser.get(posted.headers["location"], headers=FRAMED)
        assert landed.status_code == 303
        assert landed.headers["location"] == f"/privacy?client_id={shop}"
        page = await browser.get(landed.headers["location"], headers=FRAMED)
        assert page.status_code == 200, page.text
        assert state_of(page.text, "analytics") == "never"
        assert frame_ancestors(page.headers["content-security-policy"]) == SHOP


async def test_the_framed_session_is_refused_top_level_and_for_another_app(
    privacy: Privacy,
) -> None:
    shop = await brand_app(privacy)
    # Another app of the same site (its frames get the same partition in the browser).
    other = await brand_app(privacy)
    await customer(privacy, "framed@example.com")
    async with privacy.other_browser() as browser:
        posted = await sign_in_framed(browser, shop)
    secret = set_cookies(posted)[EMBED_SESSION_COOKIE].split("=", 1)[1].split(";")[0]
    partitioned = {"cookie": f"{EMBED_SESSION_COOKIE}={secret}"}

    async with privacy.other_browser() as bare:

        async def privacy_page(client_id: str, headers: dict[str, str]) -> int:
            response = await bare.get(f"/privacy?client_id={client_id}", headers=headers)
            return response.status_code

        # In the app's frame, and from that frame's own script (fetch, EventSource).
        assert await privacy_page(shop, partitioned | FRAMED) == 200
        script = {"sec-fetch-dest": "empty", "sec-fetch-site": "same-origin"}
        assert await privacy_page(shop, partitioned | script) == 200
        # Top level, or a client without Fetch Metadata: the sign-in, as for nobody.
        assert await privacy_page(shop, partitioned | TOP_LEVEL) == 303
        assert await privacy_page(shop, partitioned) == 303
        # In another app's frame: its offer to sign in.
        assert await privacy_page(other, partitioned | FRAMED) == 401
        # The secret as the top-level cookie: no page takes it.
        top = {"cookie": f"{COOKIE}={secret}"}
        assert (await bare.get("/privacy", headers=top | TOP_LEVEL)).status_code == 303
        account = await bare.get("/account", headers=top | TOP_LEVEL)
        assert account.status_code == 303 and account.headers["location"].startswith("/login")
        me = await bare.get("/v1/me", headers=top)
        assert me.status_code == 401
        # The account pages never take the partitioned cookie, framed or not.
        account = await bare.get(f"/account?client_id={shop}", headers=partitioned | FRAMED)
        assert account.status_code == 303


async def test_forms_in_the_frame_keep_their_origin_and_token_checks(privacy: Privacy) -> None:
    shop = await brand_app(privacy)
    account = await customer(privacy, "framed@example.com")
    async with privacy.other_browser() as browser:
        await sign_in_framed(browser, shop)
        assert EMBED_SESSION_COOKIE in browser.cookies and COOKIE not in browser.cookies
        assert CSRF_COOKIE not in browser.cookies
        page = await browser.get(f"/privacy?client_id={shop}", headers=FRAMED)
        form = {"purpose": "analytics", "action": "grant", "csrf": csrf_of(page.text)}
        url = f"/privacy/consents?client_id={shop}"
        # The app's own page posting into the frame: another origin, refused.
        forged = await browser.post(url, data=form, headers=POSTED_IN_FRAME | {"origin": SHOP})
        assert forged.status_code == 403
        guessed = await browser.post(url, data=form | {"csrf": "x" * 43}, headers=POSTED_IN_FRAME)
        assert guessed.status_code == 403
        assert await privacy.consents_at_consent_service(account) == {}
        granted = await browser.post(url, data=form, headers=POSTED_IN_FRAME)
        assert granted.status_code == 303, granted.text
        assert await privacy.consents_at_consent_service(account) == {"analytics": "granted"}
        # The token is bound to the frame's session: signed in again, the old one is refused.
        browser.cookies.delete(EMBED_SESSION_COOKIE)
        await sign_in_framed(browser, shop)
        stale = await browser.post(url, data=form | {"action": "withdraw"}, headers=POSTED_IN_FRAME)
        assert stale.status_code == 403
        assert await privacy.consents_at_consent_service(account) == {"analytics": "granted"}


async def test_the_second_step_in_the_frame_also_ends_in_the_partitioned_session(
    privacy: Privacy,
) -> None:
    shop = await brand_app(privacy)
    secret = totp.new_secret()
    await customer(privacy, "totp-framed@example.com", totp_secret=secret)
    async with privacy.other_browser() as browser:
        asked = await sign_in_framed(browser, shop, "totp-framed@example.com")
        assert asked.status_code == 200 and f'action="/login/totp?client_id={shop}"' in asked.text
        mfa = re.search(r'name="mfa_token" value="([^"]+)"', asked.text)
        assert mfa
        done = await browser.post(
            f"/login/totp?client_id={shop}",
            data={
                "mfa_token": mfa.group(1),
                "code": totp.hotp(secret, totp.current_step()),
                "csrf": csrf_of(asked.text),
                "return_to": f"/privacy?client_id={shop}",
            },
            headers=POSTED_IN_FRAME,
        )
        assert done.status_code == 303, done.text
        assert urlsplit(done.headers["location"]).path == "/login/embedded"
        assert set(set_cookies(done)) == {EMBED_SESSION_COOKIE}
        page = await browser.get(f"/privacy?client_id={shop}", headers=FRAMED)
        assert page.status_code == 200


async def test_signing_out_everywhere_ends_the_framed_session(privacy: Privacy) -> None:
    shop = await brand_app(privacy)
    account = await customer(privacy, "framed@example.com")
    async with privacy.other_browser() as browser:
        await sign_in_framed(browser, shop)
        sessions = privacy.runtime.parts.sessions
        # Listed with the account's other sessions (the account page can end it).
        assert [s.embed for s in await sessions.list_for(account)] == [shop]
        await sessions.revoke_all(account)
        page = await browser.get(f"/privacy?client_id={shop}", headers=FRAMED)
        assert page.status_code == 401


async def test_a_browser_keeping_no_cookie_in_the_frame_is_offered_a_new_window(
    privacy: Privacy,
) -> None:
    shop = await brand_app(privacy)
    await customer(privacy, "framed@example.com")
    async with privacy.other_browser() as browser:
        form = await browser.get(f"/login?client_id={shop}", headers=FRAMED)
        for locale, words in (("en", "Open my privacy settings"), ("pl", "Otwórz ustawienia")):
            browser.cookies.clear()  # the browser keeps no cookie in the frame
            posted = await browser.post(
                f"/login?client_id={shop}",
                data={
                    "email": "framed@example.com",
                    "password": PASSWORD,
                    "csrf": csrf_of(form.text),
                    "return_to": f"/privacy?client_id={shop}",
                    "ui_locales": locale,
                },
                headers=POSTED_IN_FRAME,
            )
            # Not "the form expired" (which would loop): the way out, top level.
            assert posted.status_code == 403
            assert EMBED_SESSION_COOKIE not in set_cookies(posted)
            page = html.unescape(posted.text)
            assert words in page
            link = page.split('<a class="button" href="')[1].split('"')[0]
            assert unquote(link) == f"/privacy?client_id={shop}"
            assert 'target="_blank" rel="noopener" data-embed-blocked' in page

        # Signed in, but the browser did not send the cookie back: the same way out.
        landed = await browser.get(
            f"/login/embedded?client_id={shop}&return_to=/privacy", headers=FRAMED
        )
        assert landed.status_code == 403 and "data-embed-blocked" in landed.text
