"""The values of a subject's social import, asked of the auth service when an identity event
names fields to import: `GET {auth}/v1/internal/social-imports/{subject}` with the profile's
own access token (client credentials, scope `auth:contacts`, cached; see
`ciam_shared.tokens.internal`). Auth answers only the fields allowed at the moment of the call,
so a withdrawal that landed between the event and the fetch wins. Values are used for the
write and never logged.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from pydantic import SecretStr

from ciam_shared.tokens.internal import InternalApiUnavailable, InternalAuthApi

SCOPE = "auth:contacts"


class ImportUnavailable(Exception):
    """Auth could not answer now: the event is delivered again later."""


class SocialImports:
    def __init__(
        self, http: httpx.AsyncClient, auth_url: str, client_id: str, secret: SecretStr
    ) -> None:
        self.http = http
        self.api = InternalAuthApi(http, auth_url, client_id, secret, SCOPE)
        self.credentials = self.api.credentials  # the cached token, for tests

    def __repr__(self) -> str:  # never show the secret
        return f"SocialImports({self.api.auth_url!r}, client_id={self.credentials.client_id!r})"

    async def fetch(self, subject_id: uuid.UUID) -> dict[str, Any] | None:
        """`{field: {claim: value}}` allowed now; None when the account no longer exists."""
        try:
            body = await self.api.get("social-imports", subject_id)
        except InternalApiUnavailable as exc:
            raise ImportUnavailable(str(exc)) from exc
        if body is None:
            return None
        fields = body.get("fields")
        if not isinstance(fields, dict):
            raise ImportUnavailable("social-imports: malformed response")
        return fields

    async def aclose(self) -> None:
        await self.http.aclose()
