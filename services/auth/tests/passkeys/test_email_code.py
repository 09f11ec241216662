"""Passwordless sign-in by email: a one-time code, and the same code as a link; single use,
short-lived, throttled like passwords, the same answer for unknown addresses."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from ciam_auth.models import EmailToken, OutgoingMail
from ciam_devtools.testing.plugin import eventually

from ..conftest import Auth, body_of, code_in

EMAIL = "code@example.com"


@pytest.fixture
def auth_overrides() -> dict[str, Any]:
    return {"throttle_pair_free": 2, "queue_poll_seconds": 0.1}


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def ask(client: httpx.AsyncClient, email: str) -> httpx.Response:
    page = await client.get("/login/email-code", params={"return_to": "/shop"})
    return await client.post(
        "/login/email-code", data={"email": email, "csrf": csrf_in(page.text), "return_to": "/shop"}
    )


async def enter(client: httpx.AsyncClient, asked: httpx.Response, code: str) -> httpx.Response:
    return await client.post(
        "/login/email-code/verify",
        data={"email": EMAIL, "code": code, "csrf": csrf_in(asked.text), "return_to": "/shop"},
    )


async def test_the_code_signs_in_once(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    asked = await ask(auth.client, EMAIL)
    assert asked.status_code == 200 and 'name="code"' in asked.text
    mail = await auth.mailbox.wait_for(EMAIL, 2)  # after the verification mail
    code = code_in(mail)
    assert "/login/email-code/confirm?token=" in body_of(mail)
    done = await enter(auth.client, asked, code)
    assert done.status_code == 303 and done.headers["location"] == "/shop", done.text
    (listed,) = await auth.ctx.sessions.list_for(
        uuid.UUID((await auth.client.get("/v1/me")).json()["subject_id"])
    )
    assert listed.amr == ["email"]
    await auth.client.delete("/v1/sessions/current")
    again = await enter(auth.client, await ask(auth.client, "other@example.com"), code)
    assert again.status_code == 400 and (await auth.client.get("/v1/me")).status_code == 401


async def test_the_link_signs_in_once_and_a_get_changes_nothing(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    await ask(auth.client, EMAIL)
    mail = await auth.mailbox.wait_for(EMAIL, 2)
    token = re.search(r"confirm\?token=([A-Za-z0-9_-]+)", body_of(mail)).group(1)  # type: ignore[union-attr]
    page = await auth.client.get("/login/email-code/confirm", params={"token": token})
    assert page.status_code == 200 and (await auth.client.get("/v1/me")).status_code == 401
    form = {"token": token, "csrf": csrf_in(page.text)}
    done = await auth.client.post("/login/email-code/confirm", data=form)
    assert done.status_code == 303, done.text
    assert (await auth.client.get("/v1/me")).json()["email"] == EMAIL
    await auth.client.delete("/v1/sessions/current")
    page = await auth.client.get("/login/email-code/confirm", params={"token": token})
    reused = await auth.client.post(
        "/login/email-code/confirm", data={"token": token, "csrf": csrf_in(page.text)}
    )
    assert reused.status_code == 400 and (await auth.client.get("/v1/me")).status_code == 401


async def test_an_expired_code_is_refused(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    asked = await ask(auth.client, EMAIL)
    code = code_in(await auth.mailbox.wait_for(EMAIL, 2))
    async with auth.engine.begin() as connection:
        await connection.execute(
            update(EmailToken)
            .where(EmailToken.purpose == "sign_in")
            .values(expires_at=EmailToken.created_at)
        )
    late = await enter(auth.client, asked, code)
    assert late.status_code == 400 and (await auth.client.get("/v1/me")).status_code == 401


async def test_unknown_addresses_get_the_same_answer_and_no_mail(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    known, unknown = await ask(auth.client, EMAIL), await ask(auth.client, "ghost@example.com")
    assert known.status_code == unknown.status_code == 200

    def shape(html: str, address: str) -> str:
        return re.sub(r'value="[^"]*"', "", html.replace(address, "@"))

    assert shape(known.text, EMAIL) == shape(unknown.text, "ghost@example.com")
    await auth.mailbox.wait_for(EMAIL, 2)

    async def idle() -> bool:
        return await auth.ctx.jobs.idle()

    await eventually(idle)  # the job of each request ran and committed
    async with auth.engine.connect() as connection:
        waiting = await connection.scalar(
            select(func.count())
            .select_from(OutgoingMail)
            .where(OutgoingMail.recipient == "ghost@example.com")
        )
    assert waiting == 0 and auth.mailbox.to("ghost@example.com") == []


async def test_wrong_codes_are_throttled_like_passwords(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    asked = await ask(auth.client, EMAIL)
    code = code_in(await auth.mailbox.wait_for(EMAIL, 2))
    wrong = "000000" if code != "000000" else "111111"
    assert (await enter(auth.client, asked, wrong)).status_code == 400
    assert (await enter(auth.client, asked, wrong)).status_code == 400
    throttled = await enter(auth.client, asked, code)  # right, but the pair is locked now
    assert throttled.status_code == 429, throttled.text
    assert (await auth.client.get("/v1/me")).status_code == 401
