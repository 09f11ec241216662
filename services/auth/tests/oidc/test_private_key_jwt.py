"""private_key_jwt client authentication: registration of public keys, assertions made by
Authlib's client (as an app would), and every assertion a provider must refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from .conftest import ISSUER, AuthService, Flow, RegisteredClient, pkce

TOKEN_URL = f"{ISSUER}/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ec_key(kid: str = "k1") -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid})


def short_rsa() -> dict[str, Any]:
    # A key too short on purpose: the registration must refuse it.
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()  # noqa: S505
    n = numbers.n.to_bytes(128, "big")
    return {"kty": "RSA", "kid": "r", "e": "AQAB", "n": _b64(n)}


def public(key: ECKey | RSAKey) -> dict[str, Any]:
    return key.as_dict(private=False)


def assertion(key: ECKey | RSAKey, client_id: str, *, alg: str = "ES256", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(12),
    } | claims
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": key.kid}, body, key)


async def register(auth: AuthService, key: ECKey | RSAKey, **overrides: Any) -> httpx.Response:
    token = await auth.admin_token()
    body = {
        "name": "Back office",
        "brand": "acme",
        "redirect_uris": ["https://shop.example.com/callback"],
        "scopes": ["openid", "consent:read"],
        "grant_types": ["authorization_code", "client_credentials"],
        "auth_method": "private_key_jwt",
        "jwks": {"keys": [public(key)]},
        "first_party": True,
    } | overrides
    return await auth.http.post(
        "/v1/admin/clients", json=body, headers={"authorization": f"Bearer {token}"}
    )


async def grant(auth: AuthService, client_id: str, signed: str, **form: str) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
    } | form
    return await auth.http.post("/token", data=data)


async def test_registration_takes_public_keys_and_issues_no_secret(auth: AuthService) -> None:
    key = ec_key()
    response = await register(auth, key)
    assert response.status_code == 201, response.text
    body = response.json()
    assert "client_secret" not in body
    assert body["auth_method"] == "private_key_jwt"
    assert body["jwks"] == {"keys": [public(key)]}

    rotate = await auth.http.post(
        f"/v1/admin/clients/{body['client_id']}/secret",
        headers={"authorization": f"Bearer {await auth.admin_token()}"},
    )
    assert rotate.status_code == 422
    assert "no secret" in rotate.json()["detail"]


@pytest.mark.parametrize(
    ("jwks", "reason"),
    [
        ({"keys": [ec_key().as_dict(private=True)]}, "private key material"),
        ({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}, "private key material"),
        ({"keys": []}, "1 to 5 keys"),
        ({"keys": [public(ec_key("same")), public(ec_key("same"))]}, "`kid` of its own"),
        ({"keys": [short_rsa()]}, "2048"),
        ({"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "b"}]}, "valid"),
        ({"keys": [public(ec_key()) | {"use": "enc"}]}, "signing key"),
        ("not a key set", "jwks"),
    ],
)
async def test_registration_refuses_bad_key_sets(auth: AuthService, jwks: Any, reason: str) -> None:
    response = await register(auth, ec_key(), jwks=jwks)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert reason in response.text


async def test_keys_only_with_private_key_jwt(auth: AuthService) -> None:
    with_secret = await register(auth, ec_key(), auth_method="client_secret_basic")
    assert with_secret.status_code == 422
    without_keys = await register(auth, ec_key(), jwks=None)
    assert without_keys.status_code == 422


async def test_authlib_client_authenticates_with_its_key_and_cannot_replay(
    auth: AuthService,
) -> None:
    key = ec_key()
    client_id = (await register(auth, key)).json()["client_id"]
    signer = PrivateKeyJWT(TOKEN_URL, alg="ES256")
    async with AsyncOAuth2Client(
        client_id,
        key,
        token_endpoint_auth_method=signer,
        transport=auth.http._transport,
        scope="consent:read",
    ) as app:
        token = await app.fetch_token(TOKEN_URL, grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "consent:read"

    signed = assertion(key, client_id)
    assert (await grant(auth, client_id, signed)).status_code == 200
    replay = await grant(auth, client_id, signed)
    assert replay.status_code == 401
    assert replay.json() == {
        "error": "invalid_client",
        "error_description": "client_assertion refused: jti already used.",
    }


async def test_client_id_may_be_left_to_the_assertion(auth: AuthService) -> None:
    key = ec_key()
    client_id = (await register(auth, key)).json()["client_id"]
    response = await auth.http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(key, client_id),
        },
    )
    assert response.status_code == 200, response.text


def _unsigned(client_id: str) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "exp": now + 60, "jti": "x"}
    header = _b64(json.dumps({"alg": "none"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _hs256_with_public_key(key: ECKey, client_id: str) -> str:
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "kid": key.kid}).encode())
    claims = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "exp": now + 60, "jti": "h"}
    payload = _b64(json.dumps(claims).encode())
    secret = json.dumps(public(key)).encode()
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(mac)}"


REFUSALS: list[tuple[str, Any, str]] = [
    ("wrong audience", lambda k, c: assertion(k, c, aud="https://other.example"), "aud"),
    ("expired", lambda k, c: assertion(k, c, exp=int(time.time()) - 120), "expired"),
    ("no exp", lambda k, c: assertion(k, c, exp=None), "exp missing"),
    ("lives long", lambda k, c: assertion(k, c, exp=int(time.time()) + 7200), "longer"),
    ("iat in the future", lambda k, c: assertion(k, c, iat=int(time.time()) + 600), "future"),
    ("another issuer", lambda k, c: assertion(k, c, iss="app_other"), "iss and sub"),
    ("another subject", lambda k, c: assertion(k, c, sub="app_other"), "iss and sub"),
    ("no jti", lambda k, c: assertion(k, c, jti=None), "jti missing"),
    ("signed by another key", lambda k, c: assertion(ec_key(k.kid), c), "bad signature"),
    ("unknown kid", lambda k, c: assertion(ec_key("other"), c), "no registered key"),
    ("alg none", lambda k, c: _unsigned(c), "algorithm not allowed"),
    ("HS256 with the public key", _hs256_with_public_key, "algorithm not allowed"),
    ("not a JWS", lambda k, c: "garbage", "not a compact JWS"),
]


@pytest.mark.parametrize(("case", "make", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_assertions_a_provider_must_refuse(
    auth: AuthService, case: str, make: Any, reason: str
) -> None:
    key = ec_key()
    client_id = (await register(auth, key)).json()["client_id"]
    response = await grant(auth, client_id, make(key, client_id))
    assert response.status_code == 401, (case, response.text)
    body = response.json()
    assert body["error"] == "invalid_client"
    assert reason in body["error_description"], (case, body)


async def test_methods_cannot_be_mixed(auth: AuthService) -> None:
    key = ec_key()
    client_id = (await register(auth, key)).json()["client_id"]
    # A private_key_jwt client cannot fall back to a secret, nor a secret client to keys.
    secret_try = await auth.http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=httpx.BasicAuth(client_id, "guess"),
    )
    assert secret_try.status_code == 401
    secret_client = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    keyed = await grant(auth, secret_client.client_id, assertion(key, secret_client.client_id))
    assert keyed.status_code == 401
    assert "client_secret_basic" in keyed.json()["error_description"]
    wrong_type = await grant(
        auth, client_id, assertion(key, client_id), client_assertion_type="urn:other"
    )
    assert wrong_type.status_code == 401


async def test_code_flow_and_introspection_with_assertions(auth: AuthService) -> None:
    key = ec_key()
    client_id = (await register(auth, key)).json()["client_id"]
    client = RegisteredClient(client_id, None)
    await auth.sign_in(await auth.account())
    flow = Flow(*pkce())
    code = await auth.code(client, flow, scope="openid")
    exchanged = await auth.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://shop.example.com/callback",
            "code_verifier": flow.verifier,
            "client_id": client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(key, client_id),
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    introspected = await auth.http.post(
        "/introspect",
        data={
            "token": exchanged.json()["access_token"],
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(key, client_id, aud=f"{ISSUER}/introspect"),
        },
    )
    assert introspected.status_code == 200, introspected.text
    assert introspected.json()["active"] is True


async def test_replacing_the_keys_retires_the_old_one_at_once(auth: AuthService) -> None:
    old, new = ec_key("old"), ec_key("new")
    created = (await register(auth, old)).json()
    client_id = created["client_id"]
    assert (await grant(auth, client_id, assertion(old, client_id))).status_code == 200
    update = {k: created[k] for k in ("name", "brand", "redirect_uris", "scopes", "grant_types")}
    replaced = await auth.http.put(
        f"/v1/admin/clients/{client_id}",
        json=update | {"auth_method": "private_key_jwt", "jwks": {"keys": [public(new)]}},
        headers={"authorization": f"Bearer {await auth.admin_token()}"},
    )
    assert replaced.status_code == 200, replaced.text
    assert (await grant(auth, client_id, assertion(old, client_id))).status_code == 401
    assert (await grant(auth, client_id, assertion(new, client_id))).status_code == 200


async def test_discovery_offers_private_key_jwt(auth: AuthService) -> None:
    metadata = (await auth.http.get("/.well-known/openid-configuration")).json()
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == [
        "ES256",
        "PS256",
        "RS256",
    ]
