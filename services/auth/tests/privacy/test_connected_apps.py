"""Connected apps: the consent screen of a sign-in lists the app's declared purposes and links
to the privacy page; `/privacy/apps` lists every app the customer signed in to or allowed,
with what it may do and its purposes; revoking one ends its refresh tokens and forgets the
consent-screen grant (the next sign-in asks again)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ciam_auth.oidc.service import clients
from ciam_shared.db import unit_of_work

from .conftest import OURS, Privacy, csrf_of

REDIRECT = "https://shop.example.com/callback"


async def third_party_app(privacy: Privacy, name: str = "Shop") -> tuple[str, str]:
    spec = clients.ClientSpec(
        name=name,
        brand="acme",
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[],
        scopes=["openid", "email", "offline_access", "me:consents:read"],
        purposes=["email-marketing", "analytics"],
        grant_types=["authorization_code", "refresh_token"],
        auth_method="client_secret_basic",
        first_party=False,
    )
    async with unit_of_work(privacy.runtime.sessions) as session:
        client, secret = await clients.register(
            session, spec, topic_prefix=privacy.runtime.parts.context.topic_prefix
        )
    assert secret is not None
    return client.client_id, secret


def authorize_params(client_id: str) -> tuple[dict[str, str], str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return {
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid email offline_access me:consents:read",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }, verifier


def hidden_inputs(page: str) -> dict[str, str]:
    return {
        html.unescape(k): html.unescape(v)
        for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    }


async def sign_in_to_app(
    privacy: Privacy, client_id: str, secret: str, lang: str = "en"
) -> dict[str, Any]:
    """The code flow through the consent screen; returns the token answer."""
    params, verifier = authorize_params(client_id)
    screen = await privacy.http.get("/authorize", params=params, headers={"accept-language": lang})
    assert screen.status_code == 200, screen.text
    allowed = await privacy.http.post(
        "/authorize/consent",
        data=hidden_inputs(screen.text) | {"decision": "allow"},
        headers={"origin": OURS},
    )
    assert allowed.status_code == 303, allowed.text
    code = parse_qs(urlsplit(allowed.headers["location"]).query)["code"][0]
    tokens = await privacy.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=httpx.BasicAuth(client_id, secret),
    )
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


async def test_the_consent_screen_lists_the_apps_purposes_and_links_to_the_privacy_page(
    privacy: Privacy,
) -> None:
    await privacy.sign_in("screen@example.com")
    client_id, _ = await third_party_app(privacy)
    for lang, names, link in (
        ("en", ["Analytics", "Email marketing"], "on the privacy page"),
        ("pl", ["Analityka", "Marketing e-mailowy"], "na stronie prywatności"),
    ):
        params, _ = authorize_params(client_id)
        screen = await privacy.http.get(
            "/authorize", params=params, headers={"accept-language": lang}
        )
        assert screen.status_code == 200, screen.text
        shown = html.unescape(screen.text)
        purposes = re.search(r'<ul id="purposes">(.*?)</ul>', shown, re.S)
        assert purposes, shown
        assert re.findall(r"<li>(.*?)</li>", purposes.group(1)) == names
        assert '<a href="/privacy"' in shown and link in shown


async def test_the_apps_page_lists_an_app_and_revoking_it_ends_its_tokens_and_grant(
    privacy: Privacy,
) -> None:
    await privacy.sign_in("apps@example.com")
    client_id, secret = await third_party_app(privacy)
    other_id, other_secret = await third_party_app(privacy, name="Blog")
    tokens = await sign_in_to_app(privacy, client_id, secret)
    other = await sign_in_to_app(privacy, other_id, other_secret)

    page = await privacy.http.get("/privacy/apps", headers={"accept-language": "en"})
    assert page.status_code == 200, page.text
    shown = html.unescape(page.text)
    card = shown[shown.index(f'id="app-{client_id}"') :]
    card = card[: card.index("</article>")]
    assert "<h2" in card and "Shop</h2>" in card
    assert "See your email address" in card and "See your consents (given and withdrawn)" in card
    assert "Analytics, Email marketing" in card
    assert f'id="app-{other_id}"' in shown
    polish = html.unescape(
        (await privacy.http.get("/privacy/apps", headers={"accept-language": "pl"})).text
    )
    assert "Połączone aplikacje" in polish and "Wgląd w Twój adres e-mail" in polish

    revoked = await privacy.http.post(
        "/privacy/apps/revoke",
        data={"client_id": client_id, "csrf": csrf_of(page.text)},
        headers={"origin": OURS},
    )
    assert (
        revoked.status_code == 303 and revoked.headers["location"] == "/privacy/apps?done=revoked"
    )

    # Its refresh token is refused, its access token no longer introspects as active.
    refreshed = await privacy.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=httpx.BasicAuth(client_id, secret),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    introspected = await privacy.http.post(
        "/introspect",
        data={"token": tokens["access_token"]},
        auth=httpx.BasicAuth(client_id, secret),
    )
    assert introspected.json()["active"] is False
    # The consent screen asks again.
    params, _ = authorize_params(client_id)
    again = await privacy.http.get("/authorize", params=params)
    assert again.status_code == 200 and 'name="decision"' in again.text
    # The other app is untouched.
    still = await privacy.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": other["refresh_token"]},
        auth=httpx.BasicAuth(other_id, other_secret),
    )
    assert still.status_code == 200, still.text
    after = html.unescape((await privacy.http.get("/privacy/apps")).text)
    assert f'id="app-{client_id}"' not in after and f'id="app-{other_id}"' in after


async def test_revoking_needs_the_form_token_and_touches_only_the_customers_own_grants(
    privacy: Privacy,
) -> None:
    await privacy.sign_in("alice-apps@example.com")
    client_id, secret = await third_party_app(privacy)
    alice_tokens = await sign_in_to_app(privacy, client_id, secret)
    page = await privacy.http.get("/privacy/apps")
    missing = await privacy.http.post("/privacy/apps/revoke", data={"client_id": client_id})
    assert missing.status_code == 403
    bad = await privacy.http.post(
        "/privacy/apps/revoke",
        data={"client_id": "<script>", "csrf": csrf_of(page.text)},
        headers={"origin": OURS},
    )
    assert bad.status_code == 400
    # Bob revokes the same app in his own session: Alice's tokens stay.
    await privacy.sign_in("bob-apps@example.com")
    bob_page = await privacy.http.get("/privacy/apps")
    assert 'id="no-apps"' in bob_page.text
    revoked = await privacy.http.post(
        "/privacy/apps/revoke",
        # Bob's apps page has no form: the privacy page's token is this browser's and session's.
        data={"client_id": client_id, "csrf": csrf_of((await privacy.http.get("/privacy")).text)},
        headers={"origin": OURS},
    )
    assert revoked.status_code == 303
    still = await privacy.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": alice_tokens["refresh_token"]},
        auth=httpx.BasicAuth(client_id, secret),
    )
    assert still.status_code == 200, still.text


async def test_the_apps_page_is_for_signed_in_customers(privacy: Privacy) -> None:
    answer = await privacy.http.get("/privacy/apps")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?return_to=/privacy/apps"
