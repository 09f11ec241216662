"""OIDC with passkeys: `prompt=login` and `max_age` accept a fresh passkey sign-in,
`acr_values=phr` is enforced (a password session is sent to sign in with a passkey), and the
ID token's `amr`/`acr` say what was used."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from ciam_devtools.testing.webauthn import SoftAuthenticator

from .conftest import ISSUER, REDIRECT, AuthService, Flow, pkce, redirect_query

BASE = "https://testserver"


async def id_token(auth: AuthService, client: Any, code: str, flow: Flow) -> dict[str, Any]:
    tokens = (await auth.exchange(client, code, flow)).json()
    keys = KeySet.import_key_set((await auth.http.get("/.well-known/jwks.json")).json())
    return dict(jwt.decode(tokens["id_token"], keys, algorithms=["ES256"]).claims)


async def with_passkey(auth: AuthService, email: str) -> SoftAuthenticator:
    account = await auth.account(email)
    await auth.sign_in(account)  # a password session (amr pwd), just signed in
    key = SoftAuthenticator(origin=ISSUER.rstrip("/"))
    options = (await auth.http.post(BASE + "/v1/me/passkeys/options")).json()
    added = await auth.http.post(BASE + "/v1/me/passkeys", json={"credential": key.create(options)})
    assert added.status_code == 201, added.text
    return key


async def test_a_password_session_gets_acr_pwd(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account("plain@example.com"))
    flow = Flow(*pkce())
    claims = await id_token(auth, client, await auth.code(client, flow), flow)
    assert claims["acr"] == "pwd" and claims["amr"] == ["pwd"]
    discovery = (await auth.http.get("/.well-known/openid-configuration")).json()
    assert "phr" in discovery["acr_values_supported"] and "acr" in discovery["claims_supported"]


@pytest.mark.parametrize("ask", [{"acr_values": "phr"}, {"prompt": "login"}, {"max_age": "0"}])
async def test_a_fresh_passkey_satisfies_the_app(auth: AuthService, ask: dict[str, str]) -> None:
    client = await auth.client()
    key = await with_passkey(auth, f"app-{next(iter(ask))}@example.com")
    flow = Flow(*pkce())
    sent = await auth.authorize(client, flow, **ask)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/login?"), sent.text
    login = parse_qs(urlsplit(sent.headers["location"]).query)
    page = await auth.http.get(BASE + sent.headers["location"])
    if "acr_values" in ask:  # a passkey only: no password form
        assert login["acr"] == ["phr"] and 'name="password"' not in page.text
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)
    assert csrf is not None, page.text
    options = (await auth.http.post(BASE + "/v1/passkeys/sign-in/options")).json()
    signed_in = await auth.http.post(
        BASE + "/v1/passkeys/sign-in",
        json={"credential": key.get(options), "csrf": csrf.group(1),
              "return_to": login["return_to"][0]},
    )  # fmt: skip
    assert signed_in.status_code == 200, signed_in.text
    back = await auth.http.get(BASE + signed_in.json()["redirect"])
    assert back.status_code == 303 and back.headers["location"].startswith(REDIRECT), back.text
    claims = await id_token(auth, client, redirect_query(back)["code"], flow)
    assert claims["amr"] == ["pop", "user", "mfa"] and claims["acr"] == "phr"


async def test_acr_phr_is_not_met_by_a_password_session(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account("pw-only@example.com"))
    flow = Flow(*pkce())
    refused = await auth.authorize(client, flow, acr_values="phr", prompt="none")
    assert redirect_query(refused)["error"] == "login_required"
    sent = await auth.authorize(client, flow, acr_values="phr")
    assert sent.status_code == 303 and "acr=phr" in sent.headers["location"]
