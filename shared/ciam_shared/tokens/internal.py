"""The client of the auth service's internal API (`GET {auth}/v1/internal/...`), shared by the
notifier (contacts) and the profile service (social imports).

It asks with the service's own access token (`ClientCredentials`: client credentials, cached
until shortly before expiry, one retry on a 401) and reads the answer the same way for every
caller: a JSON object, or None when auth says the account does not exist. Anything else (auth
down, a token refused twice, a 5xx, a malformed body) is `InternalApiUnavailable`: try again
later. A bare 404 is not "account gone": a wrong auth URL must not read as a deletion.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from ciam_shared.tokens.client import ClientCredentials, TokenUnavailable

INTERNAL_PREFIX = "/v1/internal/"
ACCOUNT_NOT_FOUND = "/account-not-found"


class InternalApiUnavailable(Exception):
    """Auth could not answer now; the message names the resource, never a secret or a value."""


class InternalAuthApi:
    def __init__(
        self, http: httpx.AsyncClient, auth_url: str, client_id: str, secret: SecretStr, scope: str
    ) -> None:
        self.http = http
        self.auth_url = auth_url.rstrip("/")
        self.credentials = ClientCredentials(http, self.auth_url, client_id, secret, scope)

    def __repr__(self) -> str:  # never show the secret
        return f"InternalAuthApi({self.auth_url!r}, client_id={self.credentials.client_id!r})"

    async def get(self, resource: str, subject: object) -> dict[str, Any] | None:
        """`GET /v1/internal/{resource}/{subject}`: the JSON object, or None when the account
        no longer exists."""
        try:
            response = await self.credentials.get(
                f"{self.auth_url}{INTERNAL_PREFIX}{resource}/{subject}"
            )
        except TokenUnavailable as exc:
            raise InternalApiUnavailable(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise InternalApiUnavailable(f"{resource}: {type(exc).__name__}") from exc
        if response.status_code == 404 and _problem_type(response).endswith(ACCOUNT_NOT_FOUND):
            return None
        if response.status_code != 200:  # 5xx, or a token refused twice
            raise InternalApiUnavailable(f"{resource}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise InternalApiUnavailable(f"{resource}: malformed response") from exc
        if not isinstance(body, dict):
            raise InternalApiUnavailable(f"{resource}: malformed response")
        return body


def _problem_type(response: httpx.Response) -> str:
    try:
        return str(response.json().get("type", ""))
    except (ValueError, AttributeError):
        return ""
