"""The admin API: brand apps and their events, signing key rotation."""

from __future__ import annotations

from sqlalchemy import select

from ciam_auth.models import outbox

from .conftest import AuthService


async def staged(auth: AuthService) -> list[tuple[str, str | None]]:
    async with auth.engine.connect() as connection:
        rows = await connection.execute(
            select(outbox.c.key, outbox.c.event_type).order_by(outbox.c.seq)
        )
        return [(r.key, r.event_type) for r in rows]


async def test_only_an_admin_token_may_register_apps(auth: AuthService) -> None:
    body = {"name": "Shop", "redirect_uris": ["https://shop.example.com/cb"]}
    assert (await auth.http.post("/v1/admin/clients", json=body)).status_code == 401
    app = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    token = (
        await auth.http.post("/token", data={"grant_type": "client_credentials"}, auth=app.basic())
    ).json()["access_token"]
    refused = await auth.http.post(
        "/v1/admin/clients", json=body, headers={"authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


async def test_an_app_is_registered_published_updated_and_deleted(auth: AuthService) -> None:
    headers = {"authorization": f"Bearer {await auth.admin_token()}"}
    body = {
        "name": "Loyalty",
        "brand": "acme",
        "redirect_uris": ["https://loyalty.example.com/cb"],
        "scopes": ["openid", "email", "consent:read"],
        "purposes": ["loyalty", "marketing"],
    }
    created = await auth.http.post("/v1/admin/clients", json=body, headers=headers)
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    assert len(created.json()["client_secret"]) >= 43
    listed = await auth.http.get(f"/v1/admin/clients/{client_id}", headers=headers)
    assert "client_secret" not in listed.json()
    updated = await auth.http.put(
        f"/v1/admin/clients/{client_id}", json=body | {"purposes": ["loyalty"]}, headers=headers
    )
    assert updated.json()["purposes"] == ["loyalty"]
    assert (
        await auth.http.delete(f"/v1/admin/clients/{client_id}", headers=headers)
    ).status_code == 204
    mine = [event for key, event in await staged(auth) if key == client_id]
    assert mine == [
        "dev.ciam.auth.app.registered.v1",
        "dev.ciam.auth.app.registered.v1",
        "dev.ciam.auth.app.deleted.v1",
        "tombstone",  # clears the app from the compacted topic
    ]
    gone = await auth.http.get(f"/v1/admin/clients/{client_id}", headers=headers)
    assert gone.status_code == 404


async def test_bad_registrations_are_refused_and_write_nothing(auth: AuthService) -> None:
    headers = {"authorization": f"Bearer {await auth.admin_token()}"}
    before = await staged(auth)
    for body in (
        {"name": "x", "redirect_uris": ["http://shop.example.com/cb"]},  # http, not loopback
        {"name": "x", "redirect_uris": ["https://shop.example.com/cb#frag"]},
        {"name": "x", "redirect_uris": ["/relative"]},
        {"name": "x", "grant_types": ["implicit"]},
        {"name": "x", "grant_types": ["password"]},
        {"name": "x", "scopes": ["Bad Scope"]},
        {"name": "x", "unknown": 1},
        {"name": "x", "auth_method": "none", "grant_types": ["client_credentials"]},
        {"name": "x", "grant_types": ["authorization_code"]},  # no redirect URI
    ):
        response = await auth.http.post("/v1/admin/clients", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    assert await staged(auth) == before


async def test_a_rotated_key_still_verifies_what_it_signed(auth: AuthService) -> None:
    headers = {"authorization": f"Bearer {await auth.admin_token()}"}
    client = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    old = (
        await auth.http.post(
            "/token", data={"grant_type": "client_credentials"}, auth=client.basic()
        )
    ).json()["access_token"]
    before = (await auth.http.get("/v1/admin/keys", headers=headers)).json()
    rotated = (await auth.http.post("/v1/admin/keys/rotate", headers=headers)).json()
    assert rotated["active_kid"] != before["active_kid"]
    assert set(rotated["published_kids"]) == {before["active_kid"], rotated["active_kid"]}
    jwks = (await auth.http.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} == set(rotated["published_kids"])
    assert (await auth.introspect(client, old))["active"] is True
    new = (
        await auth.http.post(
            "/token", data={"grant_type": "client_credentials"}, auth=client.basic()
        )
    ).json()["access_token"]
    assert (await auth.introspect(client, new))["active"] is True


async def test_a_rotated_secret_stops_working_at_once_despite_the_client_cache(
    auth: AuthService,
) -> None:
    headers = {"authorization": f"Bearer {await auth.admin_token()}"}
    app = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    form = {"grant_type": "client_credentials"}
    assert (await auth.http.post("/token", data=form, auth=app.basic())).status_code == 200
    rotated = await auth.http.post(f"/v1/admin/clients/{app.client_id}/secret", headers=headers)
    new_secret = rotated.json()["client_secret"]
    assert (await auth.http.post("/token", data=form, auth=app.basic())).status_code == 401
    fresh = await auth.http.post("/token", data=form, auth=(app.client_id, new_secret))
    assert fresh.status_code == 200
    await auth.http.delete(f"/v1/admin/clients/{app.client_id}", headers=headers)
    gone = await auth.http.post("/token", data=form, auth=(app.client_id, new_secret))
    assert gone.status_code == 401


async def test_a_platform_service_reads_a_contact_address_with_its_scope_only(
    auth: AuthService,
) -> None:
    account = await auth.account("contact@example.com")
    reader = await auth.client(
        grant_types=["client_credentials"], redirect_uris=[], scopes=["auth:contacts"]
    )
    other = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    form = {"grant_type": "client_credentials"}
    allowed = (await auth.http.post("/token", data=form, auth=reader.basic())).json()
    refused = (await auth.http.post("/token", data=form, auth=other.basic())).json()
    url = f"/v1/internal/contacts/{account}"
    ok = await auth.http.get(url, headers={"authorization": f"Bearer {allowed['access_token']}"})
    assert ok.status_code == 200 and ok.json()["email"] == "contact@example.com"
    no = await auth.http.get(url, headers={"authorization": f"Bearer {refused['access_token']}"})
    assert no.status_code == 403
    missing = await auth.http.get(
        "/v1/internal/contacts/00000000-0000-0000-0000-000000000000",
        headers={"authorization": f"Bearer {allowed['access_token']}"},
    )
    assert missing.status_code == 404
