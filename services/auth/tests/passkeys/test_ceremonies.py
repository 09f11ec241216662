"""The WebAuthn ceremonies against the running app, with a software authenticator: every rule
of docs/services/auth.md "Passkeys" has a test here that fails without it."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import select, update

from ciam_auth.datarights.service.auth_part import export_subject
from ciam_auth.models import Account
from ciam_auth.passkeys.models import Passkey
from ciam_devtools.testing.webauthn import unb64url
from ciam_shared.db import unit_of_work

from ..conftest import PASSWORD, Auth
from .conftest import authenticator, enrol, passkey_sign_in, sign_in

GOOGLE_PM = uuid.UUID("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4").bytes


async def passkeys(auth: Auth) -> list[Passkey]:
    async with auth.engine.connect() as connection:
        rows = await connection.execute(select(Passkey.__table__))
        return list(rows.all())  # type: ignore[arg-type]


async def enrolled(auth: Auth, email: str = "pk@example.com", **key_options: object):  # type: ignore[no-untyped-def]
    await auth.verified_account(email)
    await sign_in(auth.client, email, PASSWORD)
    key = authenticator(**key_options)  # type: ignore[arg-type]
    added = await enrol(auth.client, key)
    assert added.status_code == 201, added.text
    return key, added.json()


async def test_a_passkey_registers_and_signs_in_as_multi_factor(auth: Auth) -> None:
    key, added = await enrolled(auth, aaguid=GOOGLE_PM, backup_eligible=True, backed_up=True)
    assert added["model"] == "Google Password Manager" and added["synced"] and added["backed_up"]
    (row,) = await passkeys(auth)
    assert row.aaguid == "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
    await auth.client.delete("/v1/sessions/current")

    signed_in = await passkey_sign_in(auth.client, key)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json() == {"redirect": "/shop", "amr": ["pop", "user", "mfa"]}
    assert (await auth.client.get("/v1/me")).json()["email"] == "pk@example.com"
    events = [e.event_type for e in await auth.staged()]
    assert "dev.ciam.identity.passkey.added.v1" in events
    added_event = next(e for e in await auth.staged() if "passkey.added" in e.event_type)
    assert (
        b"pk@" not in added_event.payload and row.credential_id.encode() not in added_event.payload
    )


async def test_the_options_ask_for_a_discoverable_verified_key_without_attestation(
    auth: Auth,
) -> None:
    await auth.verified_account("opt@example.com")
    await sign_in(auth.client, "opt@example.com", PASSWORD)
    options = (await auth.client.post("/v1/me/passkeys/options")).json()
    assert options["attestation"] == "none"
    assert options["rp"]["id"] == "auth.test"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    request = (await auth.client.post("/v1/passkeys/sign-in/options")).json()
    assert request["userVerification"] == "required" and not request.get("allowCredentials")


@pytest.mark.parametrize("ceremony", ["registration", "sign-in"])
async def test_another_origin_or_rp_id_is_refused(auth: Auth, ceremony: str) -> None:
    wrong = [{"origin": "http://evil.test"}, {"rp_id": "evil.test"}]
    if ceremony == "registration":
        await auth.verified_account("origin@example.com")
        await sign_in(auth.client, "origin@example.com", PASSWORD)
        for bad in wrong:
            refused = await enrol(auth.client, authenticator(), **bad)
            assert refused.status_code == 401, refused.text
            assert refused.json()["type"].endswith("passkey-refused")
        assert await passkeys(auth) == []
        return
    key, _ = await enrolled(auth)
    await auth.client.delete("/v1/sessions/current")
    for bad in wrong:
        refused = await passkey_sign_in(auth.client, key, **bad)
        assert refused.status_code == 401, refused.text
    assert (await auth.client.get("/v1/me")).status_code == 401


async def test_a_challenge_is_single_use(auth: Auth) -> None:
    key, _ = await enrolled(auth)
    await auth.client.delete("/v1/sessions/current")
    csrf_page = await auth.client.get("/login")
    csrf = csrf_page.text.split('name="csrf" value="')[1].split('"')[0]
    options = (await auth.client.post("/v1/passkeys/sign-in/options")).json()
    assertion = key.get(options)
    body = {"credential": assertion, "csrf": csrf}
    assert (await auth.client.post("/v1/passkeys/sign-in", json=body)).status_code == 200
    await auth.client.delete("/v1/sessions/current")
    csrf = (await auth.client.get("/login")).text.split('name="csrf" value="')[1].split('"')[0]
    replay = await auth.client.post("/v1/passkeys/sign-in", json=body | {"csrf": csrf})
    assert replay.status_code == 401, replay.text


async def test_a_challenge_expires(auth: Auth) -> None:
    key, _ = await enrolled(auth)
    await auth.client.delete("/v1/sessions/current")
    options = (await auth.client.post("/v1/passkeys/sign-in/options")).json()
    redis = auth.ctx.redis
    (name,) = [k async for k in redis.scan_iter(f"{auth.ctx.redis_prefix}webauthn-challenge:*")]
    ttl = await redis.ttl(name)
    assert 0 < ttl <= auth.ctx.settings.webauthn_challenge_seconds
    await redis.pexpire(name, 1)  # what its TTL does at the end, made to happen now

    async def gone() -> bool:
        return not await redis.exists(name)

    from ciam_devtools.testing.plugin import eventually

    await eventually(gone)
    csrf = (await auth.client.get("/login")).text.split('name="csrf" value="')[1].split('"')[0]
    late = await auth.client.post(
        "/v1/passkeys/sign-in", json={"credential": key.get(options), "csrf": csrf}
    )
    assert late.status_code == 401, late.text


async def test_user_verification_is_required(auth: Auth) -> None:
    await auth.verified_account("uv@example.com")
    await sign_in(auth.client, "uv@example.com", PASSWORD)
    key = authenticator()
    assert (await enrol(auth.client, key, uv=False)).status_code == 401
    assert (await enrol(auth.client, key)).status_code == 201
    await auth.client.delete("/v1/sessions/current")
    refused = await passkey_sign_in(auth.client, key, uv=False, credential=key.credentials[-1])
    assert refused.status_code == 401, refused.text


async def test_a_counter_going_backwards_flags_a_device_bound_passkey(
    auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    key, _ = await enrolled(auth)
    await auth.client.delete("/v1/sessions/current")
    assert (await passkey_sign_in(auth.client, key, sign_count=7)).status_code == 200
    await auth.client.delete("/v1/sessions/current")
    with caplog.at_level(logging.WARNING):
        cloned = await passkey_sign_in(auth.client, key, sign_count=3)
    assert cloned.status_code == 401, cloned.text
    assert any("counter went backwards" in r.getMessage() for r in caplog.records)
    (row,) = await passkeys(auth)
    assert row.flagged_at is not None and row.sign_count == 7  # the flag was committed
    # Flagged: even a growing counter no longer signs in.
    assert (await passkey_sign_in(auth.client, key, sign_count=100)).status_code == 401
    await sign_in(auth.client, "pk@example.com", PASSWORD)
    assert (await auth.client.get("/v1/me/passkeys")).json()[0]["flagged"] is True


async def test_a_synced_passkey_with_no_counter_signs_in_again_and_again(auth: Auth) -> None:
    key, _ = await enrolled(auth, backup_eligible=True, counter=False)
    for _ in range(3):
        await auth.client.delete("/v1/sessions/current")
        assert (await passkey_sign_in(auth.client, key)).status_code == 200


async def test_a_credential_of_one_account_cannot_be_added_to_another(auth: Auth) -> None:
    key, _ = await enrolled(auth, email="first@example.com")
    taken = key.credentials[0].credential_id
    await auth.client.delete("/v1/sessions/current")
    await auth.verified_account("second@example.com")
    await sign_in(auth.client, "second@example.com", PASSWORD)
    again = await enrol(auth.client, authenticator(), credential_id=taken)
    assert again.status_code == 409, again.text
    rows = await passkeys(auth)
    assert len(rows) == 1 and unb64url(rows[0].credential_id) == taken


async def test_adding_a_passkey_needs_a_recent_sign_in(auth: Auth) -> None:
    await auth.verified_account("stale@example.com")
    await sign_in(auth.client, "stale@example.com", PASSWORD)
    (session_id,) = [s["id"] for s in (await auth.client.get("/v1/me/sessions")).json()]
    key = f"{auth.ctx.redis_prefix}session:{session_id}"
    await auth.ctx.redis.hset(key, "auth_time", "2020-01-01T00:00:00+00:00")
    refused = await auth.client.post("/v1/me/passkeys/options")
    assert refused.status_code == 403 and refused.json()["type"].endswith("fresh-sign-in-required")


async def test_removing_a_passkey_ends_the_other_sessions_and_stages_the_event(
    auth: Auth,
) -> None:
    key, added = await enrolled(auth)
    async with auth.other_client("127.0.0.9") as other:
        await sign_in(other, "pk@example.com", PASSWORD)
        removed = await auth.client.delete(f"/v1/me/passkeys/{added['id']}")
        assert removed.status_code == 204, removed.text
        assert (await other.get("/v1/me")).status_code == 401
    assert (await auth.client.get("/v1/me")).status_code == 200
    assert await passkeys(auth) == []
    assert any("passkey.removed" in e.event_type for e in await auth.staged())
    await auth.client.delete("/v1/sessions/current")
    assert (await passkey_sign_in(auth.client, key)).status_code == 401


async def test_the_last_way_in_cannot_be_removed(auth: Auth) -> None:
    _, added = await enrolled(auth)
    async with auth.engine.begin() as connection:
        await connection.execute(update(Account).values(password_hash=None))
    refused = await auth.client.delete(f"/v1/me/passkeys/{added['id']}")
    assert refused.status_code == 409 and refused.json()["type"].endswith("last-sign-in-method")
    second = await enrol(auth.client, authenticator())
    assert second.status_code == 201
    assert (await auth.client.delete(f"/v1/me/passkeys/{added['id']}")).status_code == 204


async def test_renaming_keeps_to_the_account(auth: Auth) -> None:
    _, added = await enrolled(auth)
    renamed = await auth.client.patch(
        f"/v1/me/passkeys/{added['id']}", json={"name": " Work  laptop "}
    )
    assert renamed.status_code == 204
    assert (await auth.client.get("/v1/me/passkeys")).json()[0]["name"] == "Work laptop"
    await auth.client.delete("/v1/sessions/current")
    await auth.verified_account("intruder@example.com")
    await sign_in(auth.client, "intruder@example.com", PASSWORD)
    other = await auth.client.patch(f"/v1/me/passkeys/{added['id']}", json={"name": "mine"})
    assert other.status_code == 404
    assert (await auth.client.delete(f"/v1/me/passkeys/{added['id']}")).status_code == 404


async def test_deleting_the_account_removes_its_passkeys(auth: Auth) -> None:
    await enrolled(auth)
    deleted = await auth.client.request("DELETE", "/v1/me", json={"password": PASSWORD})
    assert deleted.status_code in (200, 204), deleted.text
    assert await passkeys(auth) == []


async def test_a_passkey_sign_in_skips_the_totp_step(auth: Auth) -> None:
    from ciam_auth.adapters import totp

    key, _ = await enrolled(auth)
    enrolment = (await auth.client.post("/v1/me/totp")).json()
    code = totp.hotp(enrolment["secret"], totp.current_step())
    confirmed = await auth.client.post("/v1/me/totp/confirm", json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    await auth.client.delete("/v1/sessions/current")
    password = await auth.client.post(
        "/v1/sessions", json={"email": "pk@example.com", "password": PASSWORD}
    )
    assert password.json()["mfa_required"] is True
    by_passkey = await passkey_sign_in(auth.client, key)
    assert by_passkey.status_code == 200 and "mfa" in by_passkey.json()["amr"]
    assert (await auth.client.get("/v1/me")).status_code == 200


@pytest.mark.parametrize("auth_overrides", [{"throttle_client_limit": 3}])
async def test_sign_in_options_are_throttled_per_client_address(auth: Auth) -> None:
    # Each options call stores a challenge in Redis: without a limit one address fills it.
    answers = [
        (await auth.client.post("/v1/passkeys/sign-in/options")).status_code for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429], answers
    problem = await auth.client.post("/v1/passkeys/sign-in/options")
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert int(problem.headers["retry-after"]) > 0


async def test_the_accounts_passkeys_are_in_its_data_export(auth: Auth) -> None:
    _, added = await enrolled(auth, "export-pk@example.com", aaguid=GOOGLE_PM)
    (row,) = await passkeys(auth)
    async with unit_of_work(auth.ctx.db) as session:
        part = await export_subject(session, auth.ctx, row.account_id)
    (shown,) = part["passkeys"]
    assert shown["name"] == added["name"] and shown["model"] == "Google Password Manager"
    assert shown["created_at"] is not None and shown["flagged_at"] is None
    assert row.credential_id not in str(part)  # the authenticator's, not the customer's
