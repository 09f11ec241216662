"""Registration with a passkey only: no password; the address confirmed by the usual mail
before the passkey signs in; the same answer (and no passkey) for an address that has an
account."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from ciam_auth.models import Account
from ciam_auth.passkeys.models import Passkey
from ciam_devtools.testing.webauthn import SoftAuthenticator

from ..conftest import Auth, body_of, token_in
from .conftest import authenticator, csrf_of, passkey_sign_in


async def sign_up(
    client: httpx.AsyncClient, email: str, key: SoftAuthenticator, **create: object
) -> httpx.Response:
    csrf = await csrf_of(client)
    options = await client.post(
        "/v1/passkeys/sign-up/options", json={"email": email, "csrf": csrf, "locale": "pl"}
    )
    assert options.status_code == 200, options.text
    credential = key.create(options.json(), **create)  # type: ignore[arg-type]
    return await client.post("/v1/passkeys/sign-up", json={"credential": credential, "csrf": csrf})


async def test_an_account_with_a_passkey_only_signs_in_after_confirming_the_address(
    auth: Auth,
) -> None:
    key = authenticator()
    answered = await sign_up(auth.client, "New@Example.com", key)
    assert answered.status_code == 202, answered.text
    mail = await auth.mailbox.wait_for("new@example.com")
    assert "/verify-email?token=" in body_of(mail)
    async with auth.engine.connect() as connection:
        account = (await connection.execute(select(Account.__table__))).one()
        (passkey,) = (await connection.execute(select(Passkey.__table__))).all()
    assert account.password_hash is None and account.locale == "pl"
    assert passkey.account_id == account.id
    events = [e.event_type for e in await auth.staged()]
    assert "dev.ciam.identity.user.registered.v1" in events
    assert "dev.ciam.identity.passkey.added.v1" in events

    early = await passkey_sign_in(auth.client, key)
    assert early.status_code == 403 and early.json()["type"].endswith("email-not-verified")
    confirmed = await auth.client.post("/v1/email-verifications", json={"token": token_in(mail)})
    assert confirmed.status_code == 200, confirmed.text
    signed_in = await passkey_sign_in(auth.client, key)
    assert signed_in.status_code == 200, signed_in.text
    me = (await auth.client.get("/v1/me")).json()
    assert me["email"] == "new@example.com" and me["has_password"] is False
    # Its only passkey is its only way in: not removable.
    (listed,) = (await auth.client.get("/v1/me/passkeys")).json()
    refused = await auth.client.delete(f"/v1/me/passkeys/{listed['id']}")
    assert refused.status_code == 409
    page = await auth.client.get("/account")
    assert 'href="/login?prompt=login&amp;return_to=/account"' in page.text
    # The fresh passkey sign-in is the re-authentication a password-less account needs.
    assert me["reauthenticated_until"] is not None
    deleted = await auth.client.request("DELETE", "/v1/me", json={})
    assert deleted.status_code in (200, 204), deleted.text
    async with auth.engine.connect() as connection:
        assert (await connection.execute(select(Passkey.__table__))).all() == []


async def test_an_address_with_an_account_gets_the_same_answer_and_no_passkey(
    auth: Auth,
) -> None:
    await auth.verified_account("taken@example.com")
    answered = await sign_up(auth.client, "taken@example.com", authenticator())
    fresh = await sign_up(auth.client, "fresh@example.com", authenticator())
    assert answered.status_code == fresh.status_code == 202
    assert answered.json() == fresh.json()
    notice = await auth.mailbox.wait_for("taken@example.com", 2)
    assert "/verify-email" not in body_of(notice)
    await auth.mailbox.wait_for("fresh@example.com")
    async with auth.engine.connect() as connection:
        owners = (await connection.execute(select(Passkey.__table__.c.account_id))).all()
        taken = (
            await connection.execute(
                select(Account.__table__.c.id).where(Account.email == "taken@example.com")
            )
        ).scalar_one()
    assert len(owners) == 1 and owners[0].account_id != taken


async def test_a_sign_up_response_is_checked_like_any_registration(auth: Auth) -> None:
    for bad in ({"origin": "http://evil.test"}, {"uv": False}, {"rp_id": "evil.test"}):
        refused = await sign_up(auth.client, "bad@example.com", authenticator(), **bad)
        assert refused.status_code == 401, refused.text
    async with auth.engine.connect() as connection:
        assert (await connection.execute(select(Account.__table__))).all() == []
