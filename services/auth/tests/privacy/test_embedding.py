"""The privacy pages opened for a brand app (`?client_id=`): its name, logo and colours; framed
only by the origins it registered (`frame-ancestors`), every other page by nobody; the
client_id kept through links, forms and the 303 after a change; a framed form post still
needs auth's own origin and the CSRF token; a framed page without a session offers the
sign-in in the frame (a partitioned session, test_embedded_session.py) or in a new window."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, unquote, urlsplit

from ciam_auth.oidc.service import clients
from ciam_shared.db import unit_of_work

from .conftest import OURS, Privacy, csrf_of, state_of

LOOK = {
    "display_name": "Acme Shop",
    "logo_uri": "https://cdn.acme.example/logo.svg",
    "primary_color": "#0b5d1e",
    "text_color": "#ffffff",
}
SHOP = "https://shop.example.com"
FRAMED = {"sec-fetch-dest": "iframe", "sec-fetch-site": "cross-site"}


async def brand_app(
    privacy: Privacy, *, look: dict[str, str] | None = LOOK, origins: tuple[str, ...] = (SHOP,)
) -> str:
    runtime = privacy.runtime
    async with unit_of_work(runtime.sessions) as session:
        client, _ = await clients.register(
            session,
            clients.ClientSpec(
                name="Shop web",
                brand="acme",
                redirect_uris=["https://shop.example.com/cb"],
                post_logout_redirect_uris=[],
                scopes=["openid"],
                purposes=["analytics"],
                grant_types=["authorization_code"],
                auth_method="client_secret_basic",
                first_party=False,
                branding=look,
                embed_origins=list(origins),
            ),
            topic_prefix=runtime.settings.topic_prefix,
            loopback_http=True,  # the browser test's pages are on http://127.0.0.1
        )
    return client.client_id


def frame_ancestors(csp: str) -> str:
    found = [d for d in csp.split("; ") if d.startswith("frame-ancestors ")]
    assert len(found) == 1, csp
    return found[0].removeprefix("frame-ancestors ")


async def test_the_page_has_the_brand_look_and_its_frames_only_with_its_client_id(
    privacy: Privacy,
) -> None:
    await privacy.sign_in()
    shop = await brand_app(privacy, origins=(SHOP, "https://m.acme.example:8443"))
    themed = await privacy.http.get(f"/privacy?client_id={shop}", headers={"accept-language": "en"})
    assert themed.status_code == 200, themed.text
    assert frame_ancestors(themed.headers["content-security-policy"]) == (
        "https://shop.example.com https://m.acme.example:8443"
    )
    assert "x-frame-options" not in themed.headers
    # The logo's origin may be shown; nothing else is loosened.
    assert (
        "img-src 'self' data: https://cdn.acme.example;"
        in themed.headers["content-security-policy"]
    )
    assert "<style>:root{--brand:#0b5d1e;--brand-text:#ffffff}</style>" in themed.text
    assert '<img src="https://cdn.acme.example/logo.svg" alt="">' in themed.text
    assert '<span class="brand">Acme Shop</span>' in themed.text
    # Every link and form of the page keeps the app.
    assert f'action="/privacy/consents?client_id={shop}"' in themed.text
    assert f'href="/privacy/history?client_id={shop}"' in themed.text
    assert f'href="/privacy/apps?client_id={shop}"' in themed.text
    history = await privacy.http.get(f"/privacy/history?client_id={shop}")
    assert "Acme Shop" in history.text and f'href="/privacy?client_id={shop}"' in history.text
    assert frame_ancestors(history.headers["content-security-policy"]) == SHOP + (
        " https://m.acme.example:8443"
    )

    # Without client_id, or with one nobody registered: auth's own look, framed by nobody.
    for url in ("/privacy", "/privacy?client_id=app_nobody", "/privacy?client_id=%3Cscript%3E"):
        plain = await privacy.http.get(url, headers={"accept-language": "en"})
        assert plain.status_code == 200, url
        assert frame_ancestors(plain.headers["content-security-policy"]) == "'none'", url
        assert plain.headers["x-frame-options"] == "DENY"
        assert "--brand:" not in plain.text and "Acme Shop" not in plain.text
        assert (
            "client_id="
            not in html.unescape(plain.text).replace("ui_locales=pl", "").split("</main>")[0]
        ), url
    # The sign-in opened for the app may be framed by its origins (a session for the frame,
    # embedding.py); the other pages never, whatever the query says.
    async with privacy.other_browser() as stranger:
        login = await stranger.get(f"/login?client_id={shop}")
        register = await stranger.get(f"/register?client_id={shop}")
    assert frame_ancestors(login.headers["content-security-policy"]) == (
        "https://shop.example.com https://m.acme.example:8443"
    )
    assert frame_ancestors(register.headers["content-security-policy"]) == "'none'"


async def test_a_brand_without_origins_has_its_look_and_no_frames(privacy: Privacy) -> None:
    await privacy.sign_in()
    shop = await brand_app(privacy, origins=())
    themed = await privacy.http.get(f"/privacy?client_id={shop}")
    assert "--brand:#0b5d1e" in themed.text
    assert frame_ancestors(themed.headers["content-security-policy"]) == "'none'"
    assert themed.headers["x-frame-options"] == "DENY"


async def test_a_change_on_a_framed_page_keeps_the_app_and_still_needs_our_origin(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in()
    shop = await brand_app(privacy)
    page = await privacy.http.get(f"/privacy?client_id={shop}", headers=FRAMED)
    csrf = csrf_of(page.text)
    form = {"purpose": "analytics", "action": "grant", "csrf": csrf}

    # The brand app's page (a registered frame ancestor) posting itself: refused, no change.
    forged = await privacy.http.post(
        f"/privacy/consents?client_id={shop}", data=form, headers={"origin": SHOP} | FRAMED
    )
    assert forged.status_code == 403
    # The token alone is not enough either: without it the form is refused.
    tokenless = await privacy.http.post(
        f"/privacy/consents?client_id={shop}",
        data=form | {"csrf": ""},
        headers={"origin": OURS, "sec-fetch-dest": "iframe", "sec-fetch-site": "same-origin"},
    )
    assert tokenless.status_code == 403
    assert await privacy.consents_at_consent_service(account) == {}

    # The framed page's own form: its origin is auth's, so it holds, and the 303 keeps the app.
    granted = await privacy.http.post(
        f"/privacy/consents?client_id={shop}",
        data=form,
        headers={"origin": OURS, "sec-fetch-dest": "iframe", "sec-fetch-site": "same-origin"},
    )
    assert granted.status_code == 303, granted.text
    location = urlsplit(granted.headers["location"])
    assert location.path == "/privacy" and location.fragment == "purpose-analytics"
    assert parse_qs(location.query) == {"done": ["grant"], "version": ["1"], "client_id": [shop]}
    assert await privacy.consents_at_consent_service(account) == {"analytics": "granted"}
    back = await privacy.http.get(granted.headers["location"], headers=FRAMED)
    assert frame_ancestors(back.headers["content-security-policy"]) == SHOP
    assert state_of(back.text, "analytics") == "granted" and "Acme Shop" in back.text

    # The page's script posts with fetch (no destination, same origin): the frame's too.
    withdrawn = await privacy.http.post(
        f"/privacy/consents?client_id={shop}",
        data=form | {"action": "withdraw"},
        headers={"origin": OURS, "sec-fetch-dest": "empty", "sec-fetch-site": "same-origin"},
    )
    assert f"client_id={shop}" in withdrawn.headers["location"]
    assert await privacy.consents_at_consent_service(account) == {"analytics": "withdrawn"}


async def test_nobody_signed_in_in_a_frame_is_offered_the_sign_in_there_or_in_a_new_window(
    privacy: Privacy,
) -> None:
    shop = await brand_app(privacy)
    async with privacy.other_browser() as browser:
        framed = await browser.get(
            f"/privacy?client_id={shop}", headers=FRAMED | {"accept-language": "pl"}
        )
        # Opened as a page of its own, it goes to the sign-in, which brings the customer back.
        top = await browser.get(f"/privacy/history?client_id={shop}")
    assert framed.status_code == 401
    assert frame_ancestors(framed.headers["content-security-policy"]) == SHOP
    text = html.unescape(framed.text)
    assert "Logowanie do ustawień prywatności" in text and "Acme Shop" in text
    here = text.split('<a class="button" href="')[1].split('"')[0]
    assert unquote(here) == f"/login?return_to=/privacy?client_id={shop}&client_id={shop}"
    window = text.split('<a href="')[1].split('"')[0]
    assert unquote(window) == f"/login?return_to=/privacy?client_id={shop}"
    assert f'<a href="{window}" target="_blank" rel="noopener">' in text
    assert top.status_code == 303
    assert unquote(top.headers["location"]) == (
        f"/login?return_to=/privacy/history?client_id={shop}"
    )


async def test_the_data_export_reached_from_the_page_keeps_the_app(privacy: Privacy) -> None:
    await privacy.sign_in(email="export-embed@example.com")
    shop = await brand_app(privacy)
    privacy_page = await privacy.http.get(f"/privacy?client_id={shop}", headers=FRAMED)
    assert f'href="/privacy/export?client_id={shop}"' in privacy_page.text
    page = await privacy.http.get(f"/privacy/export?client_id={shop}", headers=FRAMED)
    assert page.status_code == 200, page.text
    assert frame_ancestors(page.headers["content-security-policy"]) == SHOP
    assert "Acme Shop" in page.text and "--brand:#0b5d1e" in page.text
    assert f'action="/privacy/export?client_id={shop}"' in page.text
    requested = await privacy.http.post(
        f"/privacy/export?client_id={shop}",
        data={"csrf": csrf_of(page.text)},
        headers={"origin": OURS, "sec-fetch-dest": "iframe", "sec-fetch-site": "same-origin"},
    )
    assert requested.status_code == 303, requested.text
    location = urlsplit(requested.headers["location"])
    assert location.path.startswith("/privacy/export/")
    assert parse_qs(location.query) == {"client_id": [shop]}
    status = await privacy.http.get(requested.headers["location"], headers=FRAMED)
    assert frame_ancestors(status.headers["content-security-policy"]) == SHOP
    assert f'href="/privacy?client_id={shop}"' in status.text
    # Without the app, the export pages are framed by nobody, as before.
    plain = await privacy.http.get("/privacy/export")
    assert frame_ancestors(plain.headers["content-security-policy"]) == "'none'"
