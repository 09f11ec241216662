"""The shared access-token verifier, against a real loopback issuer (JWKS over HTTP): every
forged, misdirected or stale token is a 401 problem; an unreachable issuer a 503, never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from joserfc.jwk import ECKey

from ciam_devtools.testing.issuer import TokenIssuer
from ciam_shared.http.problems import PROBLEM_JSON, install_problem_handlers
from ciam_shared.tokens import (
    KeysNotCached,
    Kind,
    NotAuthenticated,
    TokenVerifier,
    bearer_principal,
)

ADMIN = "demo:admin"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], sign: Any = None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64(signature)}"


def claims_of(issuer: TokenIssuer, sub: str) -> dict[str, Any]:
    token = issuer.mint(sub)
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


@pytest.fixture
def issuer() -> Iterator[TokenIssuer]:
    """Its own issuer per test: these tests rotate keys, count fetches and take it down."""
    with TokenIssuer() as own:
        yield own


@pytest.fixture
async def verifier(issuer: TokenIssuer) -> AsyncIterator[TokenVerifier]:
    own = TokenVerifier(issuer.url, "ciam")
    yield own
    await own.aclose()


def protected_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    app.state.runtime = SimpleNamespace(verifier=verifier)
    install_problem_handlers(app)

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        principal = await bearer_principal(request, admin_scope=ADMIN)
        return {"kind": principal.kind, "id": principal.id, "brand": principal.brand}

    return app


async def call(verifier: TokenVerifier, token: str | None) -> httpx.Response:
    transport = httpx.ASGITransport(app=protected_app(verifier), raise_app_exceptions=False)
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/whoami", headers=headers)


def assert_refused(response: httpx.Response, status: int = 401) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert body["type"].endswith("/not-authenticated")
    return body


# Happy paths ---------------------------------------------------------------------------------


async def test_a_customer_token_is_the_customer_it_names(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    account = str(uuid.uuid4())
    response = await call(verifier, issuer.mint(account, client_id="shop-web"))
    assert response.status_code == 200, response.text
    assert response.json() == {"kind": "customer", "id": account, "brand": None}


async def test_an_apps_own_token_is_that_app_with_its_brand(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    response = await call(verifier, issuer.app_token("shop-backend", brand="shop"))
    assert response.json() == {"kind": "app", "id": "shop-backend", "brand": "shop"}


async def test_the_services_admin_scope_makes_an_admin(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    token = issuer.app_token("ops-console", scopes=(ADMIN, "other:read"))
    response = await call(verifier, token)
    assert response.json()["kind"] == Kind.ADMIN


async def test_a_customer_token_with_the_admin_scope_is_still_only_the_customer(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    """Who before which scopes: an app registered with admin scopes that obtains a customer's
    token (authorization code) holds that customer, not an operator."""
    account = str(uuid.uuid4())
    token = issuer.customer_token(account, client_id="rogue-app", scopes=(ADMIN, "other:read"))
    response = await call(verifier, token)
    assert response.json() == {"kind": "customer", "id": account, "brand": None}


async def test_an_audience_list_that_holds_ours_is_accepted(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    token = issuer.mint(str(uuid.uuid4()), audience=["billing", "ciam"])
    assert (await verifier.verify(token)).subject


async def test_the_cached_fast_path_needs_the_keys_once_then_verifies_without_io(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    token = issuer.mint(str(uuid.uuid4()), scopes=("a", "b"))
    with pytest.raises(KeysNotCached):
        verifier.verify_cached(token)
    await verifier.verify(token)
    fetched = issuer.jwks_requests
    for _ in range(20):
        assert verifier.verify_cached(token).scopes == {"a", "b"}
    assert issuer.jwks_requests == fetched == 1


async def test_a_token_seen_before_is_not_verified_again_but_its_claims_are_checked(
    issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signature's verdict is kept per token and key (a client sends the same token with
    every request); expiry is still checked on every call."""
    from ciam_shared.tokens import verifier as module

    signatures = []
    real = module.jws.deserialize_compact

    def counted(*args: Any, **kwargs: Any) -> Any:
        signatures.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(module.jws, "deserialize_compact", counted)
    now = [time.time()]
    own = TokenVerifier(issuer.url, "ciam", clock=lambda: now[0])
    try:
        token = issuer.mint(str(uuid.uuid4()), ttl=60)
        for _ in range(3):
            await own.verify(token)
        assert signatures == [token]
        now[0] += 120
        with pytest.raises(NotAuthenticated, match="expired"):
            await own.verify(token)
    finally:
        await own.aclose()


# Refusals ------------------------------------------------------------------------------------


async def test_no_bearer_token_is_a_401_challenge(verifier: TokenVerifier) -> None:
    response = await call(verifier, None)
    assert_refused(response)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "e30.e30.", "x" * 9000])
async def test_garbage_is_refused(verifier: TokenVerifier, garbage: str) -> None:
    assert_refused(await call(verifier, garbage))


async def test_alg_none_is_refused(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    claims = claims_of(issuer, str(uuid.uuid4()))
    token = forge({"alg": "none", "typ": "at+jwt", "kid": issuer.current_kid}, claims)
    body = assert_refused(await call(verifier, token))
    assert "algorithm" in body["detail"]


@pytest.mark.parametrize("form", ["pem", "jwk"])
async def test_hs256_signed_with_the_public_key_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier, form: str
) -> None:
    public = issuer.keys[issuer.current_kid]
    secret = (
        public.as_pem(private=False)
        if form == "pem"
        else json.dumps(public.as_dict(private=False)).encode()
    )
    claims = claims_of(issuer, str(uuid.uuid4()))
    token = forge(
        {"alg": "HS256", "typ": "at+jwt", "kid": issuer.current_kid},
        claims,
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    assert_refused(await call(verifier, token))


async def test_a_token_for_another_audience_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    body = assert_refused(await call(verifier, issuer.mint(str(uuid.uuid4()), audience="billing")))
    assert "aud" in body["detail"]


async def test_a_token_from_another_issuer_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    token = issuer.mint(str(uuid.uuid4()), issuer="https://evil.example")
    assert "issuer" in assert_refused(await call(verifier, token))["detail"]


async def test_an_expired_token_is_refused(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint(str(uuid.uuid4()), ttl=-120)
    assert "expired" in assert_refused(await call(verifier, token))["detail"]


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_a_token_not_valid_yet_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier, claim: str
) -> None:
    future = claims_of(issuer, "x")["iat"] + 600
    token = issuer.mint(str(uuid.uuid4()), ttl=3600, claims={claim: future})
    assert "not valid yet" in assert_refused(await call(verifier, token))["detail"]


@pytest.mark.parametrize("typ", ["JWT", None])
async def test_an_id_token_used_as_an_access_token_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier, typ: str | None
) -> None:
    if typ is None:
        token = forge_untyped(issuer)
    else:
        # An ID token as OIDC Core issues it: typ JWT, aud the client, nonce and auth_time.
        token = issuer.mint(
            str(uuid.uuid4()), typ=typ, claims={"nonce": "n", "auth_time": 1, "azp": "shop"}
        )
    assert "access token" in assert_refused(await call(verifier, token))["detail"]


def forge_untyped(issuer: TokenIssuer) -> str:
    key = issuer.keys[issuer.current_kid]
    from joserfc import jwt

    return jwt.encode(
        {"alg": "ES256", "kid": issuer.current_kid}, claims_of(issuer, str(uuid.uuid4())), key
    )


@pytest.mark.parametrize("claim", ["sub", "client_id", "jti", "exp", "iat"])
async def test_a_token_missing_a_required_claim_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier, claim: str
) -> None:
    assert_refused(await call(verifier, issuer.mint(str(uuid.uuid4()), drop=[claim])))


async def test_a_customer_token_must_name_an_account_id(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    assert_refused(await call(verifier, issuer.mint("not-an-account", client_id="shop")))


async def test_a_tampered_signature_or_payload_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    header, payload, signature = issuer.mint(str(uuid.uuid4())).split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert_refused(await call(verifier, f"{header}.{payload}.{flipped}"))
    other = b64(json.dumps(claims_of(issuer, str(uuid.uuid4()))).encode())
    body = assert_refused(await call(verifier, f"{header}.{other}.{signature}"))
    assert "signature" in body["detail"]


async def test_a_token_signed_by_a_stranger_under_a_known_kid_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    stranger = ECKey.generate_key("P-256")
    assert_refused(await call(verifier, issuer.mint(str(uuid.uuid4()), key=stranger)))


async def test_an_unknown_kid_is_refused_after_one_refetch_only(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    await verifier.verify(issuer.mint(str(uuid.uuid4())))
    assert issuer.jwks_requests == 1
    stranger = ECKey.generate_key("P-256")
    for _ in range(5):
        token = issuer.mint(str(uuid.uuid4()), kid=uuid.uuid4().hex, key=stranger)
        assert "unknown key" in assert_refused(await call(verifier, token))["detail"]
    assert issuer.jwks_requests == 2  # one refetch for the whole flood, within the cool-down


async def test_a_rotated_key_is_accepted_after_a_refetch(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    old = issuer.mint(str(uuid.uuid4()))
    await verifier.verify(old)
    issuer.rotate()
    new = issuer.mint(str(uuid.uuid4()))
    assert (await call(verifier, new)).status_code == 200
    assert (await call(verifier, old)).status_code == 200  # the overlap window
    assert issuer.jwks_requests == 2


async def test_a_retired_key_is_refused_once_the_key_set_is_refetched(
    issuer: TokenIssuer,
) -> None:
    verifier = TokenVerifier(issuer.url, "ciam", jwks_ttl_s=0)
    try:
        old_kid = issuer.current_kid
        old = issuer.mint(str(uuid.uuid4()))
        await verifier.verify(old)
        issuer.rotate()
        issuer.retire(old_kid)
        assert_refused(await call(verifier, old))
    finally:
        await verifier.aclose()


# The issuer out of reach ---------------------------------------------------------------------


async def test_an_unreachable_issuer_is_a_503_problem_not_a_500(issuer: TokenIssuer) -> None:
    issuer.unavailable = True
    verifier = TokenVerifier(issuer.url, "ciam")
    try:
        body = assert_refused(await call(verifier, issuer.mint(str(uuid.uuid4()))), 503)
        assert body["type"].endswith("/token-verification-unavailable")
        # Within the cool-down a failed fetch is not retried on every request.
        assert_refused(await call(verifier, issuer.mint(str(uuid.uuid4()))), 503)
        assert issuer.jwks_requests == 1
    finally:
        await verifier.aclose()


async def test_a_jwks_url_that_answers_nothing_is_a_503(issuer: TokenIssuer) -> None:
    verifier = TokenVerifier(issuer.url, "ciam", jwks_url=f"{issuer.url}/nowhere")
    try:
        assert_refused(await call(verifier, issuer.mint(str(uuid.uuid4()))), 503)
    finally:
        await verifier.aclose()


async def test_known_keys_outlive_an_issuer_outage_for_the_grace_period_only(
    issuer: TokenIssuer,
) -> None:
    token = issuer.mint(str(uuid.uuid4()))
    lenient = TokenVerifier(issuer.url, "ciam", jwks_ttl_s=0, jwks_cooldown_s=0)
    strict = TokenVerifier(
        issuer.url, "ciam", jwks_ttl_s=0, jwks_cooldown_s=0, jwks_stale_grace_s=0
    )
    try:
        await lenient.verify(token)
        await strict.verify(token)
        issuer.unavailable = True
        assert (await call(lenient, token)).status_code == 200
        assert_refused(await call(strict, token), 503)
    finally:
        await lenient.aclose()
        await strict.aclose()


def test_no_hmac_or_none_algorithm_can_be_allowed() -> None:
    for algorithms in (("HS256",), ("none",), ("ES256", "HS256"), ()):
        with pytest.raises(ValueError, match="unsupported"):
            TokenVerifier("http://issuer", "ciam", algorithms=algorithms)


async def test_the_verifier_raises_not_authenticated_outside_http_too(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    with pytest.raises(NotAuthenticated):
        await verifier.verify(issuer.mint(str(uuid.uuid4()), ttl=-120))


async def test_an_allowed_algorithm_that_does_not_fit_the_key_is_refused(
    issuer: TokenIssuer,
) -> None:
    """With two algorithms allowed, the header still cannot pick how a P-256 key is used."""
    verifier = TokenVerifier(issuer.url, "ciam", algorithms=("ES256", "ES384"))
    try:
        claims = claims_of(issuer, str(uuid.uuid4()))
        token = forge(
            {"alg": "ES384", "typ": "at+jwt", "kid": issuer.current_kid},
            claims,
            lambda _data: b"\x01" * 96,
        )
        assert "does not fit" in assert_refused(await call(verifier, token))["detail"]
    finally:
        await verifier.aclose()
