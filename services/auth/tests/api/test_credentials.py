"""Password reset, password change (ends the other sessions, fires the revocation hook), email
change, deletion, and the upgrade of weaker hashes on sign-in."""

from __future__ import annotations

import re
import uuid

from argon2 import PasswordHasher, Type
from sqlalchemy import select, update

from ciam_auth.models import Account

from ..conftest import PASSWORD, Auth, body_of, code_in, token_in

NEW_PASSWORD = "a brand new passphrase 2026"


async def sign_in(client, email: str, password: str):  # type: ignore[no-untyped-def]
    return await client.post("/v1/sessions", json={"email": email, "password": password})


async def test_reset_by_link_ends_every_session_and_sets_the_new_password(auth: Auth) -> None:
    await auth.verified_account("reset@example.com")
    assert (await sign_in(auth.client, "reset@example.com", PASSWORD)).status_code == 200
    asked = await auth.client.post("/v1/password-resets", json={"email": "reset@example.com"})
    assert asked.status_code == 202
    mail = await auth.mailbox.wait_for("reset@example.com", count=2)
    assert "/reset-password?token=" in body_of(mail)
    weak = await auth.client.post(
        "/v1/password-resets/confirm", json={"token": token_in(mail), "new_password": "password1"}
    )
    assert weak.status_code == 422
    done = await auth.client.post(
        "/v1/password-resets/confirm", json={"token": token_in(mail), "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert (await auth.client.get("/v1/me/sessions")).status_code == 401
    assert (await sign_in(auth.client, "reset@example.com", PASSWORD)).status_code == 401
    assert (await sign_in(auth.client, "reset@example.com", NEW_PASSWORD)).status_code == 200
    reused = await auth.client.post(
        "/v1/password-resets/confirm", json={"token": token_in(mail), "new_password": PASSWORD}
    )
    assert reused.status_code == 400
    assert "dev.ciam.identity.password.changed.v1" in [r.event_type for r in await auth.staged()]


async def test_reset_by_code_through_the_pages_in_polish(auth: Auth) -> None:
    await auth.verified_account("kod@example.com")
    page = await auth.client.get("/reset-password", headers={"accept-language": "pl,en;q=0.5"})
    assert '<html lang="pl">' in page.text and "Wyślij mi link" in page.text
    csrf = re.findall(r'name="csrf" value="([^"]+)"', page.text)[0]  # the form's token
    sent = await auth.client.post(
        "/reset-password", data={"email": "kod@example.com", "csrf": csrf, "ui_locales": "pl"}
    )
    assert sent.status_code == 200 and "wysłaliśmy" in sent.text
    mail = await auth.mailbox.wait_for("kod@example.com", count=2)
    done = await auth.client.post(
        "/reset-password/confirm",
        data={
            "email": "kod@example.com",
            "code": code_in(mail),
            "new_password": NEW_PASSWORD,
            "csrf": csrf,
            "ui_locales": "pl",
        },
    )
    assert done.status_code == 200 and "Hasło zostało zmienione" in done.text
    assert (await sign_in(auth.client, "kod@example.com", NEW_PASSWORD)).status_code == 200


async def test_changing_the_password_ends_the_other_sessions_and_fires_the_hook(auth: Auth) -> None:
    subject = await auth.verified_account("change@example.com")
    revoked: list[tuple[uuid.UUID, list[str] | None]] = []

    async def record(account_id: uuid.UUID, session_ids: list[str] | None) -> None:
        revoked.append((account_id, session_ids))

    auth.ctx.sessions.on_sessions_revoked(record)
    mine = (await sign_in(auth.client, "change@example.com", PASSWORD)).json()["session"]["id"]
    async with auth.other_client("198.51.100.4") as laptop:
        other = (await sign_in(laptop, "change@example.com", PASSWORD)).json()["session"]["id"]
        wrong = await auth.client.post(
            "/v1/me/password",
            json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 403
        changed = await auth.client.post(
            "/v1/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"ended_sessions": 1}
        assert (await laptop.get("/v1/me/sessions")).status_code == 401
    sessions = (await auth.client.get("/v1/me/sessions")).json()
    assert [s["id"] for s in sessions] == [mine]
    assert revoked == [(uuid.UUID(subject), [other])]
    notice = await auth.mailbox.wait_for("change@example.com", count=2)
    assert "was changed" in body_of(notice)


async def test_changing_the_email_needs_the_password_and_the_new_address_confirmed(
    auth: Auth,
) -> None:
    await auth.verified_account("old@example.com")
    await sign_in(auth.client, "old@example.com", PASSWORD)
    refused = await auth.client.post(
        "/v1/me/email", json={"password": "wrong password!", "new_email": "new@example.com"}
    )
    assert refused.status_code == 403
    asked = await auth.client.post(
        "/v1/me/email", json={"password": PASSWORD, "new_email": "new@example.com"}
    )
    assert asked.status_code == 202
    mail = await auth.mailbox.wait_for("new@example.com")
    await auth.mailbox.wait_for("old@example.com", count=2)  # told that a change was asked
    assert (await auth.client.get("/v1/me")).json()["email"] == "old@example.com"
    confirmed = await auth.client.post(
        "/v1/email-verifications", json={"email": "new@example.com", "code": code_in(mail)}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (await auth.client.get("/v1/me")).json()["email"] == "new@example.com"


async def test_deleting_the_account_stages_user_deleted_and_ends_every_session(
    auth: Auth,
) -> None:
    subject = await auth.verified_account("bye@example.com")
    await sign_in(auth.client, "bye@example.com", PASSWORD)
    async with auth.other_client("203.0.113.50") as other:
        await sign_in(other, "bye@example.com", PASSWORD)
        refused = await auth.client.request("DELETE", "/v1/me", json={"password": "nope nope"})
        assert refused.status_code == 403
        deleted = await auth.client.request("DELETE", "/v1/me", json={"password": PASSWORD})
        assert deleted.status_code == 204
        assert (await other.get("/v1/me")).status_code == 401
    async with auth.engine.connect() as connection:
        assert (await connection.execute(select(Account.__table__))).first() is None
    last = (await auth.staged())[-1]
    assert last.event_type == "dev.ciam.identity.user.deleted.v1" and last.key == subject
    assert (await sign_in(auth.client, "bye@example.com", PASSWORD)).status_code == 401


async def test_a_weaker_hash_is_upgraded_on_sign_in(auth: Auth) -> None:
    await auth.verified_account("legacy@example.com")
    weak = PasswordHasher(memory_cost=8 * 1024, time_cost=1, parallelism=1, type=Type.ID)
    async with auth.engine.begin() as connection:
        await connection.execute(
            update(Account.__table__)
            .where(Account.__table__.c.email == "legacy@example.com")
            .values(password_hash=weak.hash(PASSWORD))
        )
    assert (await sign_in(auth.client, "legacy@example.com", PASSWORD)).status_code == 200
    async with auth.engine.connect() as connection:
        stored = await connection.scalar(select(Account.__table__.c.password_hash))
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert (await sign_in(auth.client, "legacy@example.com", PASSWORD)).status_code == 200
