"""Passkey tests: the auth app of tests/conftest.py and a software authenticator
(ciam_devtools.testing.webauthn) speaking for the browser at the app's public origin."""

from __future__ import annotations

from typing import Any

import httpx

from ciam_devtools.testing.webauthn import SoftAuthenticator

ORIGIN = "http://auth.test"  # the tests' AUTH_PUBLIC_URL: RP id auth.test


def authenticator(**kwargs: Any) -> SoftAuthenticator:
    return SoftAuthenticator(origin=ORIGIN, **kwargs)


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> None:
    response = await client.post("/v1/sessions", json={"email": email, "password": password})
    assert response.status_code == 200, response.text


async def enrol(client: httpx.AsyncClient, key: SoftAuthenticator, **create: Any) -> httpx.Response:
    options = await client.post("/v1/me/passkeys/options")
    assert options.status_code == 200, options.text
    return await client.post(
        "/v1/me/passkeys", json={"credential": key.create(options.json(), **create)}
    )


async def csrf_of(client: httpx.AsyncClient) -> str:
    import re

    page = await client.get("/login", params={"prompt": "login"})
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def passkey_sign_in(
    client: httpx.AsyncClient, key: SoftAuthenticator, **get: Any
) -> httpx.Response:
    csrf = await csrf_of(client)
    options = await client.post("/v1/passkeys/sign-in/options")
    assert options.status_code == 200, options.text
    return await client.post(
        "/v1/passkeys/sign-in",
        json={"credential": key.get(options.json(), **get), "csrf": csrf, "return_to": "/shop"},
    )
