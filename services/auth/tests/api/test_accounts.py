"""Registration, verification, sign-in and sessions over HTTP against real PostgreSQL, Redis,
Kafka and a real SMTP server."""

from __future__ import annotations

import json
import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_auth.models import Account, outbox
from ciam_auth.sessions.store import COOKIE

from ..conftest import PASSWORD, Auth, body_of, code_in, token_in


async def count(engine: AsyncEngine, what: object) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(what)) or 0)  # type: ignore[arg-type]


async def html_login(client, email: str, password: str, return_to: str = "/account"):  # type: ignore[no-untyped-def]
    page = await client.get("/login", params={"return_to": return_to, "prompt": "login"})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return await client.post(
        "/login",
        data={"email": email, "password": password, "csrf": csrf, "return_to": return_to},
    )


async def test_registration_stores_an_argon2id_hash_and_stages_the_event(auth: Auth) -> None:
    response = await auth.client.post(
        "/v1/accounts", json={"email": "Ada@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 202, response.text
    mail = await auth.mailbox.wait_for("ada@example.com")  # written by a job after the answer
    async with auth.engine.connect() as connection:
        account = (await connection.execute(select(Account.__table__))).one()
    (staged,) = await auth.staged()
    assert account.email == "ada@example.com"
    assert account.email_verified_at is None
    assert account.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PasswordHasher().verify(account.password_hash, PASSWORD)
    assert staged.key == str(account.id)
    assert staged.event_type == "dev.ciam.identity.user.registered.v1"
    assert b"ada@" not in staged.payload
    assert "/verify-email?token=" in body_of(mail) and code_in(mail)


async def test_register_verify_by_link_sign_in_list_and_end_a_session(auth: Auth) -> None:
    mail = await auth.register("grace@example.com")
    page = await auth.client.get("/login", params={"return_to": "/authorize?x=1"})
    assert 'href="/login?return_to=%2Fauthorize%3Fx%3D1&amp;ui_locales=pl"' in page.text
    polish = await auth.client.get("/login", params={"ui_locales": "pl"})
    assert '<html lang="pl">' in polish.text and "Zaloguj się" in polish.text
    assert (await html_login(auth.client, "grace@example.com", PASSWORD)).status_code == 403
    verify_page = await auth.client.get("/verify-email", params={"token": token_in(mail)})
    assert verify_page.status_code == 200 and 'name="token"' in verify_page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', verify_page.text).group(1)  # type: ignore[union-attr]
    confirmed = await auth.client.post(
        "/verify-email", data={"token": token_in(mail), "csrf": csrf}
    )
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text

    signed_in = await html_login(auth.client, "grace@example.com", PASSWORD, "/account?tab=1")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/account?tab=1"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" in cookie  # environment "test" is not development

    async with auth.other_client("192.0.2.7") as phone:
        api = await phone.post(
            "/v1/sessions",
            json={"email": "grace@example.com", "password": PASSWORD, "channel": "mobile"},
        )
        assert api.status_code == 200, api.text
        phone_session = api.json()["session"]["id"]
        sessions = (await auth.client.get("/v1/me/sessions")).json()
        assert {(s["device"], s["channel"]) for s in sessions} == {
            ("Chrome on Windows", "web"),
            ("Firefox on Linux", "mobile"),
        }
        page = await auth.client.get("/account")
        assert page.status_code == 200 and "Firefox on Linux" in page.text
        assert '<html lang="en">' in page.text
        ended = await auth.client.delete(f"/v1/me/sessions/{phone_session}")
        assert ended.status_code == 204
        assert (await phone.get("/v1/me/sessions")).status_code == 401
        assert (await auth.client.delete(f"/v1/me/sessions/{phone_session}")).status_code == 404
    assert len((await auth.client.get("/v1/me/sessions")).json()) == 1
    types = [row.event_type for row in await auth.staged()]
    assert types == [
        "dev.ciam.identity.user.registered.v1",
        "dev.ciam.identity.email.verified.v1",
        "dev.ciam.identity.user.signed-in.v1",
        "dev.ciam.identity.user.signed-in.v1",
    ]
    for row in await auth.staged():
        assert b"grace" not in row.payload and "grace" not in json.dumps(row.headers)


async def test_verification_by_code_and_a_wrong_code_is_counted(auth: Auth) -> None:
    mail = await auth.register("linus@example.com")
    code = code_in(mail)
    wrong = "000000" if code != "000000" else "111111"
    bad = await auth.client.post(
        "/v1/email-verifications", json={"email": "linus@example.com", "code": wrong}
    )
    assert bad.status_code == 400
    good = await auth.client.post(
        "/v1/email-verifications", json={"email": "LINUS@example.com", "code": code}
    )
    assert good.status_code == 200, good.text
    again = await auth.client.post(
        "/v1/email-verifications", json={"email": "linus@example.com", "code": code}
    )
    assert again.status_code == 400
    signed_in = await auth.client.post(
        "/v1/sessions", json={"email": "linus@example.com", "password": PASSWORD}
    )
    assert signed_in.status_code == 200


async def test_a_code_is_burnt_after_five_wrong_tries(auth: Auth) -> None:
    mail = await auth.register("ken@example.com")
    code = code_in(mail)
    wrong = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c != code]
    for attempt in wrong[:5]:
        response = await auth.client.post(
            "/v1/email-verifications", json={"email": "ken@example.com", "code": attempt}
        )
        assert response.status_code == 400
    late = await auth.client.post(
        "/v1/email-verifications", json={"email": "ken@example.com", "code": code}
    )
    assert late.status_code == 400


async def test_a_second_registration_answers_the_same_and_mails_the_owner(auth: Auth) -> None:
    body = {"email": "twice@example.com", "password": PASSWORD}
    first = await auth.client.post("/v1/accounts", json=body)
    await auth.mailbox.wait_for("twice@example.com")
    again = await auth.client.post("/v1/accounts", json=body | {"email": "TWICE@example.com"})
    fresh = await auth.client.post("/v1/accounts", json=body | {"email": "new@example.com"})
    assert first.status_code == again.status_code == fresh.status_code == 202
    assert _without_request_id(first.json()) == _without_request_id(again.json())
    notice = await auth.mailbox.wait_for("twice@example.com", count=2)
    await auth.mailbox.wait_for("new@example.com")
    assert "already have one" in body_of(notice)
    assert await count(auth.engine, Account.__table__) == 2
    assert await count(auth.engine, outbox) == 2


def _without_request_id(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k != "request_id"}


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password123", "common"),
        ("iloveyou2", "common"),
        ("Qwerty123", "common"),
        ("short", "length"),
    ],
)
async def test_common_breached_and_short_passwords_are_refused(
    auth: Auth, password: str, reason: str
) -> None:
    response = await auth.client.post(
        "/v1/accounts", json={"email": "weak@example.com", "password": password}
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("/password-refused")
    assert response.json()["reason"] == reason
    assert await count(auth.engine, Account.__table__) == 0


async def test_any_unicode_password_is_accepted_in_nfkc_form(auth: Auth) -> None:
    composed, decomposed = (
        "zażółć gęślą jaźń",
        "zaz\u0307o\u0301ł\u0107 ge\u0328s\u0301la\u0328 jaz\u0301n\u0301",
    )
    await auth.verified_account("unicode@example.com", composed)
    response = await auth.client.post(
        "/v1/sessions", json={"email": "unicode@example.com", "password": decomposed}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "extra@example.com", "password": PASSWORD, "admin": True},
        {},
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    auth: Auth, body: dict[str, object]
) -> None:
    response = await auth.client.post("/v1/accounts", json=body)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation")
    assert await count(auth.engine, Account.__table__) == 0
    assert await count(auth.engine, outbox) == 0


async def test_the_service_is_ready_and_documents_its_topics(auth: Auth) -> None:
    ready = await auth.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "kafka": "ok"}
    spec = (await auth.client.get("/asyncapi")).json()
    assert spec["asyncapi"].startswith("3.")
    assert any(ch["address"].endswith("ciam.identity.events") for ch in spec["channels"].values())


async def test_signing_in_again_reauthenticates_the_same_session(auth: Auth) -> None:
    await auth.verified_account("again@example.com")
    await auth.verified_account("other@example.com")
    await html_login(auth.client, "again@example.com", PASSWORD)
    (before,) = (await auth.client.get("/v1/me/sessions")).json()
    shown = await auth.client.get("/login", params={"return_to": "/x"})
    assert shown.status_code == 303  # already signed in: straight on
    forced = await auth.client.get("/login", params={"return_to": "/x", "prompt": "login"})
    assert forced.status_code == 200 and 'name="password"' in forced.text
    again = await html_login(auth.client, "again@example.com", PASSWORD, "/x")
    assert again.status_code == 303
    assert not any(c.startswith(f"{COOKIE}=") for c in again.headers.get_list("set-cookie"))
    (after,) = (await auth.client.get("/v1/me/sessions")).json()
    assert after["id"] == before["id"]  # the same session: tokens bound to it stay valid
    store = auth.ctx.sessions
    session = await store.get(after["id"])
    assert session is not None and session.auth_time > session.created_at

    switched = await html_login(auth.client, "other@example.com", PASSWORD)
    assert switched.status_code == 303
    assert await store.get(before["id"]) is None  # another account: the old session ended
    assert (await auth.client.get("/v1/me")).json()["email"] == "other@example.com"
