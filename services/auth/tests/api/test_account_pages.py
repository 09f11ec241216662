"""The account page's forms: change the password, set up TOTP (recovery codes shown once), turn
it off, delete the account; each with the CSRF token and, where sensitive, the password."""

from __future__ import annotations

import re

from ciam_auth.adapters import totp

from ..conftest import PASSWORD, Auth

NEW_PASSWORD = "an entirely new passphrase"


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


async def test_the_security_forms_of_the_account_page(auth: Auth) -> None:
    await auth.verified_account("pages@example.com")
    await auth.client.post(
        "/v1/sessions", json={"email": "pages@example.com", "password": PASSWORD}
    )
    page = await auth.client.get("/account", headers={"accept-language": "pl"})
    assert "Bezpieczeństwo" in page.text and "Weryfikacja dwuetapowa" in page.text
    csrf = field(page.text, "csrf")

    forged = await auth.client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "csrf": "x" * 43},
    )
    assert forged.status_code == 403
    wrong = await auth.client.post(
        "/account/password",
        data={"current_password": "not the password", "new_password": NEW_PASSWORD, "csrf": csrf},
    )
    assert wrong.status_code == 403 and "The password is not correct." in wrong.text
    changed = await auth.client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "csrf": csrf},
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/account?done=password"
    assert "Your password is changed." in (await auth.client.get("/account?done=password")).text

    bad_email = await auth.client.post(
        "/account/email",
        data={"new_email": "not-an-address", "password": NEW_PASSWORD, "csrf": csrf},
    )
    assert bad_email.status_code == 422 and "not a valid email address" in bad_email.text
    moved = await auth.client.post(
        "/account/email",
        data={"new_email": "moved@example.com", "password": NEW_PASSWORD, "csrf": csrf},
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/account?done=email"
    await auth.mailbox.wait_for("moved@example.com")

    setup = await auth.client.post("/account/totp", data={"csrf": csrf})
    assert setup.status_code == 200 and "otpauth://totp/" in setup.text
    secret = re.search(r"<code>([A-Z2-7]+)</code>", setup.text).group(1)  # type: ignore[union-attr]
    codes_page = await auth.client.post(
        "/account/totp/confirm",
        data={"code": totp.hotp(secret, totp.current_step()), "csrf": csrf},
    )
    assert codes_page.status_code == 200
    assert len(re.findall(r"<li><code>[a-z0-9-]{14}</code></li>", codes_page.text)) == 10
    assert (await auth.client.get("/v1/me")).json()["totp_enabled"] is True

    off = await auth.client.post(
        "/account/totp/disable", data={"password": NEW_PASSWORD, "csrf": csrf}
    )
    assert off.status_code == 303 and off.headers["location"] == "/account?done=totp-off"
    assert (await auth.client.get("/v1/me")).json()["totp_enabled"] is False

    refused = await auth.client.post("/account/delete", data={"password": PASSWORD, "csrf": csrf})
    assert refused.status_code == 403 and "ciam_session" not in refused.headers.get(
        "set-cookie", ""
    )
    deleted = await auth.client.post(
        "/account/delete", data={"password": NEW_PASSWORD, "csrf": csrf}
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"].startswith("/account/deleted")
    assert 'ciam_session=""' in deleted.headers["set-cookie"]  # the browser forgets it too
    assert (await auth.client.get("/v1/me")).status_code == 401
    assert (await auth.staged())[-1].event_type == "dev.ciam.identity.user.deleted.v1"
