"""Refresh rotation, client credentials, introspection, revocation and logout."""

from __future__ import annotations

import asyncio

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import text

from ciam_auth.oidc.repository.tokens import refresh_hash

from .conftest import AuthService, Flow, pkce, redirect_query


async def test_a_refresh_rotates_the_token_and_the_old_one_is_spent(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    first = await auth.tokens(client)
    rotated = await auth.refresh(client, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert "id_token" in second
    assert (await auth.introspect(client, second["refresh_token"]))["active"] is True
    assert (await auth.introspect(client, first["refresh_token"]))["active"] is False


async def test_reusing_a_refresh_token_revokes_the_whole_family(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    first = await auth.tokens(client)
    second = (await auth.refresh(client, first["refresh_token"])).json()
    reuse = await auth.refresh(client, first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert (await auth.refresh(client, second["refresh_token"])).status_code == 400
    assert (await auth.introspect(client, second["access_token"]))["active"] is False


async def test_of_twenty_concurrent_refreshes_of_one_token_exactly_one_succeeds(
    auth: AuthService,
) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    token = (await auth.tokens(client))["refresh_token"]
    responses = await asyncio.gather(*(auth.refresh(client, token) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 19
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}


async def test_a_refresh_cannot_widen_the_scope_or_cross_clients(auth: AuthService) -> None:
    client, other = await auth.client(), await auth.client()
    await auth.sign_in(await auth.account())
    token = (await auth.tokens(client))["refresh_token"]
    wider = await auth.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "scope": "openid consent:read",
        },
        auth=client.basic(),
    )
    assert wider.json()["error"] == "invalid_scope"
    assert (await auth.refresh(other, token)).json()["error"] == "invalid_grant"


async def test_a_narrowed_refresh_keeps_the_grant_for_the_next_one(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    token = (await auth.tokens(client))["refresh_token"]
    narrowed = await auth.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "scope": "openid"},
        auth=client.basic(),
    )
    assert narrowed.status_code == 200, narrowed.text
    body = narrowed.json()
    assert body["scope"] == "openid"
    assert "email" not in jwt.decode(body["id_token"], await _keys(auth)).claims
    # The successor still carries the whole grant: a refresh without scope gets all of it.
    full = (await auth.refresh(client, body["refresh_token"])).json()
    assert full["scope"] == "openid email offline_access"
    assert jwt.decode(full["id_token"], await _keys(auth)).claims["email_verified"] is True


async def test_an_expired_refresh_token_or_a_vanished_account_is_refused(
    auth: AuthService,
) -> None:
    client = await auth.client()
    account = await auth.account()
    await auth.sign_in(account)
    expired = (await auth.tokens(client))["refresh_token"]
    orphaned = (await auth.tokens(client))["refresh_token"]
    async with auth.engine.begin() as connection:
        await connection.execute(
            text("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'"
                 " WHERE token_hash = :hash"),
            {"hash": refresh_hash(expired)},
        )  # fmt: skip
    refused = await auth.refresh(client, expired)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    async with auth.engine.begin() as connection:
        await connection.execute(text("DELETE FROM accounts WHERE id = :id"), {"id": account})
    refused = await auth.refresh(client, orphaned)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # Refused, not spent: the token is still live as far as rotation is concerned.
    assert (await auth.introspect(client, orphaned))["active"] is True


async def _keys(auth: AuthService) -> KeySet:
    return KeySet.import_key_set((await auth.http.get("/.well-known/jwks.json")).json())


async def test_client_credentials_with_basic_and_post_authentication(auth: AuthService) -> None:
    basic = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    post = await auth.client(
        grant_types=["client_credentials"], redirect_uris=[], auth_method="client_secret_post"
    )
    one = await auth.http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=basic.basic()
    )
    assert one.status_code == 200, one.text
    two = await auth.http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": post.client_id,
            "client_secret": post.secret or "",
            "scope": "consent:read",
        },
    )
    assert two.status_code == 200, two.text
    keys = KeySet.import_key_set((await auth.http.get("/.well-known/jwks.json")).json())
    claims = jwt.decode(two.json()["access_token"], keys, algorithms=["ES256"]).claims
    assert claims["sub"] == claims["client_id"] == post.client_id
    assert claims["scope"] == "consent:read" and claims["brand"] == "acme"
    assert "refresh_token" not in two.json() and "id_token" not in two.json()
    # The registered method only: a basic client posting its secret is refused.
    mixed = await auth.http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": basic.client_id,
            "client_secret": basic.secret or "",
        },
    )
    assert mixed.status_code == 401 and mixed.json()["error"] == "invalid_client"


async def test_bad_client_credentials_are_refused_alike(auth: AuthService) -> None:
    client = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    wrong = await auth.http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, "not-the-secret"),
    )
    unknown = await auth.http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("app_nobody", "x")
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"].startswith("Basic")
    scope = await auth.http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "auth:admin"},
        auth=client.basic(),
    )
    assert scope.json()["error"] == "invalid_scope"
    json_body = await auth.http.post(
        "/token", json={"grant_type": "client_credentials"}, auth=client.basic()
    )
    assert json_body.json()["error"] == "invalid_request"


async def test_revoking_a_refresh_token_ends_its_access_tokens_too(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    issued = await auth.tokens(client)
    response = await auth.http.post(
        "/revoke", data={"token": issued["refresh_token"]}, auth=client.basic()
    )
    assert response.status_code == 200
    assert (await auth.introspect(client, issued["access_token"]))["active"] is False
    assert (await auth.refresh(client, issued["refresh_token"])).status_code == 400
    unknown = await auth.http.post("/revoke", data={"token": "nonsense"}, auth=client.basic())
    assert unknown.status_code == 200


async def test_introspection_tells_an_access_token_apart_from_garbage(auth: AuthService) -> None:
    client = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    token = (
        await auth.http.post(
            "/token", data={"grant_type": "client_credentials"}, auth=client.basic()
        )
    ).json()["access_token"]
    active = await auth.introspect(client, token)
    assert active["active"] is True and active["client_id"] == client.client_id
    assert (await auth.introspect(client, token[:-4] + "AAAA"))["active"] is False
    revoked = await auth.http.post("/revoke", data={"token": token}, auth=client.basic())
    assert revoked.status_code == 200
    assert (await auth.introspect(client, token))["active"] is False


async def test_logout_ends_the_session_and_its_refresh_tokens(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    offline = await auth.tokens(client)  # offline_access: outlives the browser session
    issued = await auth.tokens(client, scope="openid email")
    response = await auth.http.get(
        "/end-session",
        params={
            "id_token_hint": issued["id_token"],
            "post_logout_redirect_uri": "https://shop.example.com/bye",
            "state": "s1",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "https://shop.example.com/bye?state=s1"
    assert (await auth.refresh(client, issued["refresh_token"])).status_code == 400
    assert (await auth.introspect(client, issued["access_token"]))["active"] is False
    assert (await auth.refresh(client, offline["refresh_token"])).status_code == 200
    again = await auth.authorize(client, Flow(*pkce()))
    assert again.headers["location"].startswith("/login?")


async def test_logout_without_a_hint_asks_first_and_refuses_unregistered_targets(
    auth: AuthService,
) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    page = await auth.http.get("/end-session")
    assert page.status_code == 200 and 'action="/end-session"' in page.text
    evil = await auth.http.get(
        "/end-session",
        params={"client_id": client.client_id, "post_logout_redirect_uri": "https://evil.example"},
    )
    assert evil.status_code == 400 and "location" not in evil.headers
    still = await auth.authorize(client, Flow(*pkce()))
    assert "code" in redirect_query(still)


async def test_the_confirmed_end_session_form_signs_the_customer_out(auth: AuthService) -> None:
    client = await auth.client()
    await auth.sign_in(await auth.account())
    page = await auth.http.get("/end-session")
    form = dict(__import__("re").findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    forged = await auth.http.post("/end-session", data=form | {"csrf_token": "forged"})
    assert forged.status_code == 200 and 'action="/end-session"' in forged.text  # asks again
    assert "code" in redirect_query(await auth.authorize(client, Flow(*pkce())))
    done = await auth.http.post("/end-session", data=form)
    assert done.status_code == 200
    after = await auth.authorize(client, Flow(*pkce()))
    assert after.headers["location"].startswith("/login?")


async def test_introspection_refuses_a_token_older_than_its_clients_registration(
    auth: AuthService,
) -> None:
    # Introspection reads the client's registration on an autocommit connection (no
    # transaction); a token minted before the client id was (re-)registered stays inactive.
    import time

    from ciam_auth.oidc.service.flows import REREGISTRATION_LEEWAY_S, client_alive_now

    client = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    autocommit = auth.provider.autocommit
    now = int(time.time())
    assert await client_alive_now(autocommit, {"client_id": client.client_id, "iat": now})
    older = now - REREGISTRATION_LEEWAY_S - 60
    assert not await client_alive_now(autocommit, {"client_id": client.client_id, "iat": older})
    assert not await client_alive_now(autocommit, {"client_id": "no-such-client", "iat": now})
    assert not await client_alive_now(autocommit, {"client_id": client.client_id})
    answer = await auth.http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=client.basic()
    )
    token = answer.json()["access_token"]
    assert (await auth.introspect(client, token))["active"] is True
