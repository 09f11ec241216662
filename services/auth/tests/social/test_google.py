"""A certified OpenID provider (oidc-provider) plays Google; a real consent service records
the import choices and publishes their withdrawal. Everything through the pages and events."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urljoin

import httpx
from sqlalchemy import text

from ciam_auth.oidc.service import clients
from ciam_devtools.testing.plugin import eventually
from ciam_shared.db import unit_of_work

from .conftest import GOOGLE_USER, ISSUER, SocialAuth

WITHDRAWN = "dev.ciam.identity.social-import.withdrawn.v1"


async def through_google(authorize_url: str, login: str) -> str:
    """The customer's browser at Google: sign in, agree, and come back. Returns the callback
    URL Google sends the browser to (on the auth service)."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(authorize_url)
        for _ in range(12):
            if response.status_code in (302, 303):
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(ISSUER):
                    return location
                response = await browser.get(location)
                continue
            assert response.status_code == 200, response.text
            action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert action, response.text
            form = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text))
            if 'name="login"' in response.text:
                form |= {"login": login, "password": "any"}
            response = await browser.post(urljoin(str(response.url), action.group(1)), data=form)
    raise AssertionError("Google never sent the browser back")


async def google_sign_in(social: SocialAuth, login: str, fields: tuple[str, ...]) -> Any:
    request_url = await social.http.get("/login/social/google", params={"return_to": "/shop"})
    assert request_url.status_code == 303, request_url.text
    callback = await through_google(request_url.headers["location"], login)
    assert "iss=" in callback  # Google's stand-in sends RFC 9207 iss; the service checks it
    response = await social.http.get(callback.removeprefix(ISSUER))
    assert response.status_code == 303, response.text
    if response.headers["location"] == "/login/social/continue":
        response = await social.answer(fields)
    assert response.headers["location"] == "/shop"
    return response


async def contacts_token(social: SocialAuth) -> dict[str, str]:
    """A platform service's token for auth's internal API: of a client that exists and holds
    `auth:contacts`, got with client credentials (auth refuses any other, docs/security.md)."""
    spec = clients.ClientSpec(
        name="profile",
        brand=None,
        redirect_uris=[],
        post_logout_redirect_uris=[],
        scopes=["auth:contacts"],
        purposes=[],
        grant_types=["client_credentials"],
        auth_method="client_secret_basic",
        first_party=True,
    )
    async with unit_of_work(social.runtime.sessions) as session:
        client, secret = await clients.register(
            session, spec, topic_prefix=social.settings.topic_prefix
        )
    assert secret is not None
    issued = await social.http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
    )
    assert issued.status_code == 200, issued.text
    return {"authorization": f"Bearer {issued.json()['access_token']}"}


async def imported(social: SocialAuth, account: uuid.UUID) -> dict[str, Any]:
    response = await social.http.get(
        f"/v1/internal/social-imports/{account}", headers=await contacts_token(social)
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["fields"])


async def consents(social: SocialAuth, account: uuid.UUID) -> dict[str | None, str]:
    async with httpx.AsyncClient(base_url=social.consent_url) as consent:
        response = await consent.get(
            f"/v1/subjects/{account}/consents", headers=social.app_token("consent:admin")
        )
    assert response.status_code == 200, response.text
    return {
        c["channel"]: c["status"]
        for c in response.json()["consents"]
        if c["purpose"] == "social-import"
    }


async def test_google_sign_in_imports_only_what_the_customer_allowed_until_withdrawn(
    social_with_consent: SocialAuth,
) -> None:
    social = social_with_consent
    await google_sign_in(social, "ada", ("name", "picture"))
    account = await social.signed_in_account()
    assert account is not None
    assert await consents(social, account) == {
        "name": "granted", "picture": "granted",
        "email": "denied", "locale": "denied", "birthday": "denied",
    }  # fmt: skip
    assert await imported(social, account) == {
        "name": {k: GOOGLE_USER[k] for k in ("name", "given_name", "family_name")},
        "picture": {"picture": GOOGLE_USER["picture"]},
    }
    async with social.engine.connect() as connection:
        payload = await connection.scalar(text(
            "SELECT payload FROM outbox WHERE event_type = 'dev.ciam.identity.identity.linked.v1'"
        ))  # fmt: skip
    assert '"imported_fields":["name","picture"]' in str(payload).replace(" ", "")
    assert "Ada" not in str(payload)  # names of fields, never their values, in the log

    # The customer withdraws the import of their name in the consent service.
    async with httpx.AsyncClient(base_url=social.consent_url) as consent:
        withdrawn = await consent.post(
            f"/v1/subjects/{account}/consents/social-import/withdraw",
            json={"channel": "name"}, headers=social.app_token("consent:admin"),
        )  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text

    async def name_gone() -> bool:
        return "name" not in await imported(social, account)

    await eventually(name_gone)
    assert await imported(social, account) == {"picture": {"picture": GOOGLE_USER["picture"]}}
    assert WITHDRAWN in await social.outbox_types()

    # Returning: one click, the same account, and the name is not imported again.
    social.http.cookies.clear()
    await google_sign_in(social, "ada", ())
    assert await social.signed_in_account() == account
    assert "name" not in await imported(social, account)
    assert await social.count("accounts") == 1


async def test_without_a_choice_nothing_is_imported_and_the_refusal_is_on_record(
    social_with_consent: SocialAuth,
) -> None:
    social = social_with_consent
    await google_sign_in(social, "bob", ())
    account = await social.signed_in_account()
    assert account is not None
    assert await imported(social, account) == {}
    assert set((await consents(social, account)).values()) == {"denied"}
    listing = (await social.http.get("/v1/me/identities")).json()
    assert [i["provider"] for i in listing["identities"]] == ["google"]
    assert listing["identities"][0]["imported_fields"] == []


async def test_a_returning_sign_in_refreshes_only_the_fields_still_allowed(
    social_with_consent: SocialAuth,
) -> None:
    social = social_with_consent
    await social.sign_up("refresh-1", fields=("name",), name="Eve Example")
    account = await social.signed_in_account()
    assert account is not None
    assert await imported(social, account) == {"name": {"name": "Eve Example"}}
    social.http.cookies.clear()
    await social.sign_up("refresh-1", name="Eve Renamed", picture="https://example.com/e.png")
    assert await social.signed_in_account() == account
    assert await imported(social, account) == {"name": {"name": "Eve Renamed"}}
    assert "dev.ciam.identity.social-import.refreshed.v1" in await social.outbox_types()
