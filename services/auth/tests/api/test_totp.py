"""TOTP: enrollment, sign-in with a code (each code once) and with a recovery code (each once),
disabling with the password."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text

from ciam_auth.adapters import totp
from ciam_auth.adapters.sealing import open_text, totp_context

from ..conftest import PASSWORD, Auth

EMAIL = "mfa@example.com"


async def test_totp_sign_in_with_a_code_and_with_a_single_use_recovery_code(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    await auth.client.post("/v1/sessions", json={"email": EMAIL, "password": PASSWORD})
    enrollment = (await auth.client.post("/v1/me/totp")).json()
    uri = urlparse(enrollment["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [enrollment["secret"]]
    secret = enrollment["secret"]
    step = totp.current_step()
    wrong = (
        await auth.client.post("/v1/me/totp/confirm", json={"code": "000000"})
        if totp.hotp(secret, step) != "000000"
        else None
    )
    assert wrong is None or wrong.status_code == 401
    confirmed = await auth.client.post(
        "/v1/me/totp/confirm", json={"code": totp.hotp(secret, step)}
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await auth.client.get("/v1/me")).json()["totp_enabled"] is True
    await auth.client.delete("/v1/sessions/current")

    # Password, then the next code (the one used to confirm is spent).
    first = await auth.client.post("/v1/sessions", json={"email": EMAIL, "password": PASSWORD})
    assert first.json()["mfa_required"] is True and "session" not in first.cookies
    replay = await auth.client.post(
        "/v1/sessions/mfa",
        json={"mfa_token": first.json()["mfa_token"], "code": totp.hotp(secret, step)},
    )
    assert replay.status_code == 401
    second = await auth.client.post(
        "/v1/sessions/mfa",
        json={"mfa_token": first.json()["mfa_token"], "code": totp.hotp(secret, step + 1)},
    )
    assert second.status_code == 200, second.text
    assert (await auth.client.get("/v1/me")).status_code == 200
    await auth.client.delete("/v1/sessions/current")

    # The pages, with a recovery code; the same code a second time is refused.
    for attempt in range(2):
        page = await auth.client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        step_page = await auth.client.post(
            "/login", data={"email": EMAIL, "password": PASSWORD, "csrf": csrf}
        )
        assert step_page.status_code == 200 and 'name="mfa_token"' in step_page.text
        mfa_token = re.search(r'name="mfa_token" value="([^"]+)"', step_page.text).group(1)  # type: ignore[union-attr]
        done = await auth.client.post(
            "/login/totp",
            data={"mfa_token": mfa_token, "recovery_code": codes[0].upper(), "csrf": csrf},
        )
        if attempt == 0:
            assert done.status_code == 303 and done.headers["location"] == "/account"
            assert (await auth.client.get("/v1/me")).json()["recovery_codes_left"] == 9
            await auth.client.delete("/v1/sessions/current")
        else:
            assert done.status_code == 401 and "The code is not correct." in done.text

    types = [r.event_type for r in await auth.staged()]
    assert types.count("dev.ciam.identity.second-factor.changed.v1") == 1


async def test_disabling_totp_needs_the_password(auth: Auth) -> None:
    await auth.verified_account(EMAIL)
    await auth.client.post("/v1/sessions", json={"email": EMAIL, "password": PASSWORD})
    secret = (await auth.client.post("/v1/me/totp")).json()["secret"]
    await auth.client.post(
        "/v1/me/totp/confirm", json={"code": totp.hotp(secret, totp.current_step())}
    )
    refused = await auth.client.request("DELETE", "/v1/me/totp", json={"password": "not it at all"})
    assert refused.status_code == 403
    disabled = await auth.client.request("DELETE", "/v1/me/totp", json={"password": PASSWORD})
    assert disabled.status_code == 204
    again = await auth.client.post("/v1/sessions", json={"email": EMAIL, "password": PASSWORD})
    assert again.json()["mfa_required"] is False and again.json()["session"]
    types = [r.event_type for r in await auth.staged()]
    assert types.count("dev.ciam.identity.second-factor.changed.v1") == 2


async def _totp_columns(auth: Auth, subject: str) -> tuple[str | None, str | None]:
    async with auth.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT totp_secret, totp_pending_secret FROM accounts WHERE id = :id"),
                {"id": uuid.UUID(subject)},
            )
        ).one()
    return row[0], row[1]


async def _set_totp_secret(auth: Auth, subject: str, value: str) -> None:
    async with auth.engine.begin() as connection:
        await connection.execute(
            text("UPDATE accounts SET totp_secret = :value WHERE id = :id"),
            {"id": uuid.UUID(subject), "value": value},
        )


async def _mfa_step(auth: Auth, email: str, code: str) -> int:
    first = await auth.client.post("/v1/sessions", json={"email": email, "password": PASSWORD})
    assert first.json()["mfa_required"] is True
    answer = await auth.client.post(
        "/v1/sessions/mfa", json={"mfa_token": first.json()["mfa_token"], "code": code}
    )
    if answer.status_code == 200:
        await auth.client.delete("/v1/sessions/current")
    return answer.status_code


async def test_totp_secrets_are_sealed_at_rest_and_bound_to_their_account(auth: Auth) -> None:
    subject = await auth.verified_account(EMAIL)
    other = await auth.verified_account("other-" + EMAIL)
    await auth.client.post("/v1/sessions", json={"email": EMAIL, "password": PASSWORD})
    secret = (await auth.client.post("/v1/me/totp")).json()["secret"]
    _, pending = await _totp_columns(auth, subject)
    assert pending is not None and pending.startswith("sealed:") and secret not in pending
    step = totp.current_step()
    confirmed = await auth.client.post(
        "/v1/me/totp/confirm", json={"code": totp.hotp(secret, step)}
    )
    assert confirmed.status_code == 200
    await auth.client.delete("/v1/sessions/current")
    stored, pending = await _totp_columns(auth, subject)
    assert stored is not None and stored.startswith("sealed:") and secret not in stored
    assert pending is None

    # The sealed value copied onto another account's row opens for nobody there.
    await _set_totp_secret(auth, other, stored)
    with pytest.raises(InvalidTag):
        open_text(auth.ctx.sealing, stored, totp_context(uuid.UUID(other)))

    # A secret stored in clear (enrolled before sealing) still works and is sealed at its use.
    await _set_totp_secret(auth, subject, secret)
    assert await _mfa_step(auth, EMAIL, totp.hotp(secret, step + 1)) == 200
    resealed, _ = await _totp_columns(auth, subject)
    assert resealed is not None and resealed.startswith("sealed:") and secret not in resealed
    assert open_text(auth.ctx.sealing, resealed, totp_context(uuid.UUID(subject))) == secret
