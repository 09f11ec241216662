"""The authorization code flow with PKCE, end to end against the service."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from .conftest import ISSUER, REDIRECT, AuthService, Flow, pkce, redirect_query


async def test_discovery_names_every_endpoint_and_only_s256(auth: AuthService) -> None:
    document = (await auth.http.get("/.well-known/openid-configuration")).json()
    assert document["issuer"] == ISSUER
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["response_types_supported"] == ["code"]
    assert "password" not in document["grant_types_supported"]
    assert document["authorization_response_iss_parameter_supported"] is True
    keys = (await auth.http.get("/.well-known/jwks.json")).json()["keys"]
    assert [k["alg"] for k in keys] == ["ES256"] and all("d" not in k for k in keys)


async def test_a_signed_in_customer_gets_tokens_through_code_and_pkce(auth: AuthService) -> None:
    client = await auth.client()
    account = await auth.account()
    session_id = await auth.sign_in(account)
    flow = Flow(*pkce())
    response = await auth.exchange(client, await auth.code(client, flow), flow)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    keys = KeySet.import_key_set((await auth.http.get("/.well-known/jwks.json")).json())
    access = jwt.decode(body["access_token"], keys, algorithms=["ES256"])
    assert access.header["typ"] == "at+jwt"
    assert access.claims["sub"] == str(account) and access.claims["client_id"] == client.client_id
    assert access.claims["aud"] == "ciam" and access.claims["iss"] == ISSUER
    identity = jwt.decode(body["id_token"], keys, algorithms=["ES256"])
    assert identity.header["typ"] == "JWT"
    assert identity.claims["aud"] == client.client_id and identity.claims["nonce"] == flow.nonce
    assert identity.claims["sid"] == session_id and "email" in identity.claims
    userinfo = await auth.http.get(
        "/userinfo", headers={"authorization": f"Bearer {body['access_token']}"}
    )
    assert userinfo.json()["sub"] == str(account)


async def test_without_a_session_the_customer_is_sent_to_the_login_page(auth: AuthService) -> None:
    client = await auth.client()
    response = await auth.authorize(client, Flow(*pkce()))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?return_to=%2Fauthorize%3F")
    silent = await auth.authorize(client, Flow(*pkce()), prompt="none")
    assert redirect_query(silent)["error"] == "login_required"


async def test_pkce_is_required_and_only_s256(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    verifier, challenge = pkce()
    for extra in (
        {"code_challenge": ""},
        {"code_challenge_method": "plain", "code_challenge": verifier[:43]},
        {"code_challenge_method": ""},
    ):
        response = await auth.authorize(client, Flow(verifier, challenge), **extra)
        assert response.status_code == 303
        query = redirect_query(response)
        assert query["error"] == "invalid_request" and query["iss"] == ISSUER
        assert "code" not in query
    flow = Flow(verifier, challenge)
    code = await auth.code(client, flow)
    wrong = await auth.exchange(client, code, Flow(pkce()[0], challenge))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


async def test_only_the_registered_redirect_uri_matches_exactly(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    for variant in (
        REDIRECT + "/",
        REDIRECT.replace("shop", "SHOP"),
        REDIRECT + "?next=/admin",
        REDIRECT.replace("example.com", "example.com:8443"),
        REDIRECT.replace("https", "http"),
        "https://evil.example/callback",
    ):
        response = await auth.authorize(client, Flow(*pkce()), redirect_uri=variant)
        assert response.status_code == 400, variant
        assert "location" not in response.headers
        assert "text/html" in response.headers["content-type"]


async def test_implicit_and_hybrid_flows_are_refused(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    for response_type in ("token", "id_token", "code id_token"):
        response = await auth.authorize(client, Flow(*pkce()), response_type=response_type)
        assert redirect_query(response)["error"] == "unsupported_response_type"
    password = await auth.http.post(
        "/token",
        data={"grant_type": "password", "username": "a", "password": "b"},
        auth=client.basic(),
    )
    assert password.json()["error"] == "unsupported_grant_type"


async def test_a_reused_code_is_refused_and_revokes_what_it_issued(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    flow = Flow(*pkce())
    code = await auth.code(client, flow)
    first = (await auth.exchange(client, code, flow)).json()
    assert (await auth.introspect(client, first["access_token"]))["active"] is True
    second = await auth.exchange(client, code, flow)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert (await auth.introspect(client, first["access_token"]))["active"] is False
    assert (await auth.refresh(client, first["refresh_token"])).status_code == 400


async def test_the_code_is_bound_to_its_client(auth: AuthService) -> None:
    client, other = await auth.client(), await auth.client()
    await auth.sign_in(await auth.account())
    flow = Flow(*pkce())
    code = await auth.code(client, flow)
    stolen = await auth.exchange(other, code, flow)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


async def test_a_third_party_app_asks_for_consent_once(auth: AuthService) -> None:
    client = await auth.client(first_party=False, name="Partner <b>Quiz</b>")
    await auth.sign_in(await auth.account())
    flow = Flow(*pkce())
    page = await auth.authorize(client, flow, ui_locales="pl")
    assert page.status_code == 200 and 'lang="pl"' in page.text
    assert "Partner &lt;b&gt;Quiz&lt;/b&gt;" in page.text
    form = dict(__import__("re").findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    denied = await auth.http.post("/authorize/consent", data=form | {"decision": "deny"})
    assert redirect_query(denied)["error"] == "access_denied"
    allowed = await auth.http.post("/authorize/consent", data=form | {"decision": "allow"})
    assert allowed.status_code == 303 and "code" in redirect_query(allowed)
    forged = await auth.http.post(
        "/authorize/consent", data=form | {"decision": "allow", "csrf_token": "x"}
    )
    assert forged.status_code == 403
    again = await auth.authorize(client, Flow(*pkce()))
    assert again.status_code == 303 and "code" in redirect_query(again)


@pytest.mark.parametrize("ask", [{"prompt": "login"}, {"max_age": "0"}])
async def test_prompt_login_and_max_age_make_a_signed_in_customer_sign_in_again(
    auth: AuthService, ask: dict[str, str]
) -> None:
    client = await auth.client()
    email = f"again-{next(iter(ask))}@example.com"
    account = await auth.account(email)
    await auth.sign_in(account)
    started = int(time.time())
    flow = Flow(*pkce())
    sent = await auth.authorize(client, flow, **ask)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/login?")
    login = parse_qs(urlsplit(sent.headers["location"]).query)
    assert login["prompt"] == ["login"]
    # The account pages set Secure cookies outside development: they are visited over https.
    page = await auth.http.get("https://testserver" + sent.headers["location"])
    assert page.status_code == 200 and 'name="password"' in page.text  # asked, not waved on
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    signed_in = await auth.http.post(
        "https://testserver/login",
        data={"email": email, "password": "a long pass 1", "csrf": csrf.group(1),
              "return_to": login["return_to"][0]},
    )  # fmt: skip
    assert signed_in.status_code == 303 and signed_in.headers["location"].startswith("/authorize")
    back = await auth.http.get("https://testserver" + signed_in.headers["location"])
    assert back.status_code == 303 and back.headers["location"].startswith(REDIRECT), back.text
    code = redirect_query(back)["code"]
    tokens = (await auth.exchange(client, code, flow)).json()
    keys = KeySet.import_key_set((await auth.http.get("/.well-known/jwks.json")).json())
    identity = jwt.decode(tokens["id_token"], keys, algorithms=["ES256"])
    assert identity.claims["auth_time"] >= started
