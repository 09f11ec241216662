"""The values of a subject's social import, asked of the auth service when an identity event
names fields to import: `GET {auth}/v1/internal/social-imports/{subject}` with the profile's
own access token (client credentials, scope `auth:contacts`, cached; see
`ciam_shared.tokens.client`). Auth answers only the fields allowed at the moment of the call,
so a withdrawal that landed between the event and the fetch wins. Values are used for the
write and never logged.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from pydantic import SecretStr

from ciam_shared.tokens.client import ClientCredentials, TokenUnavailable

SCOPE = "auth:contacts"


class ImportUnavailable(Exception):
    """Auth could not answer now: the event is delivered again later."""


class SocialImports:
    def __init__(
        self, http: httpx.AsyncClient, auth_url: str, client_id: str, secret: SecretStr
    ) -> None:
        self.http = http
        self.auth_url = auth_url.rstrip("/")
        self.credentials = ClientCredentials(http, self.auth_url, client_id, secret, SCOPE)

    def __repr__(self) -> str:  # never show the secret
        return f"SocialImports({self.auth_url!r}, client_id={self.credentials.client_id!r})"

    async def fetch(self, subject_id: uuid.UUID) -> dict[str, Any] | None:
        """`{field: {claim: value}}` allowed now; None when the account no longer exists."""
        try:
            response = await self.credentials.get(
                f"{self.auth_url}/v1/internal/social-imports/{subject_id}"
            )
        except TokenUnavailable as exc:
            raise ImportUnavailable(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise ImportUnavailable(f"social-imports: {type(exc).__name__}") from exc
        if response.status_code == 404 and _problem_type(response).endswith("/account-not-found"):
            return None  # not any 404: a wrong auth URL must not read as "nothing to import"
        if response.status_code != 200:  # 5xx, or a token refused twice
            raise ImportUnavailable(f"social-imports: HTTP {response.status_code}")
        try:
            fields = response.json()["fields"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ImportUnavailable("social-imports: malformed response") from exc
        if not isinstance(fields, dict):
            raise ImportUnavailable("social-imports: malformed response")
        return fields

    async def aclose(self) -> None:
        await self.http.aclose()


def _problem_type(response: httpx.Response) -> str:
    try:
        return str(response.json().get("type", ""))
    except (ValueError, AttributeError):
        return ""
