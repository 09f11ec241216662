"""A service's own access token for another service's API (OAuth 2.0 client credentials,
client_secret_basic at the auth service's `/token`), cached until shortly before it expires.

    credentials = ClientCredentials(http, auth_url, "notifier", secret, "auth:contacts")
    response = await credentials.get(f"{auth_url}/v1/internal/contacts/{subject}")

`get` sends the token and, when it is refused (401: keys rotated, client's tokens revoked),
fetches a fresh one and tries once more. Whatever goes wrong reaching the token endpoint is
`TokenUnavailable` (try again later); the secret is never in a message, a log or a repr.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from pydantic import SecretStr

# Fetch a new token this long before the cached one expires (clock skew, slow requests).
EARLY_REFRESH_SECONDS = 30.0


class TokenUnavailable(Exception):
    """No token now (the auth service is down, or refused the client): try again later."""


class ClientCredentials:
    def __init__(
        self,
        http: httpx.AsyncClient,
        auth_url: str,
        client_id: str,
        secret: SecretStr,
        scope: str,
    ) -> None:
        self.http = http
        self.auth_url = auth_url.rstrip("/")
        self.client_id = client_id
        self.scope = scope
        self._secret = secret
        self._token: tuple[str, float] | None = None  # (token, monotonic expiry)
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # never show the secret
        return f"ClientCredentials({self.auth_url!r}, client_id={self.client_id!r})"

    @property
    def cached_token(self) -> str | None:
        """The token in the cache, expired or not (tests check it is reused)."""
        return None if self._token is None else self._token[0]

    def forget(self) -> None:
        """Drop the cached token: the next call fetches a new one."""
        self._token = None

    async def access_token(self) -> str:
        # One fetch at a time: concurrent callers wait for it instead of each fetching.
        async with self._lock:
            if self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            try:
                response = await self.http.post(
                    f"{self.auth_url}/token",
                    data={"grant_type": "client_credentials", "scope": self.scope},
                    auth=httpx.BasicAuth(self.client_id, self._secret.get_secret_value()),
                )
            except httpx.HTTPError as exc:
                raise TokenUnavailable(f"token: {type(exc).__name__}") from exc
            if response.status_code != 200:
                # The body is auth's error (invalid_client...), never our secret.
                raise TokenUnavailable(f"token: HTTP {response.status_code}")
            try:
                body = response.json()
                token, ttl = str(body["access_token"]), float(body.get("expires_in", 60))
            except (ValueError, KeyError, TypeError) as exc:
                raise TokenUnavailable("token: malformed response") from exc
            expiry = time.monotonic() + max(ttl - EARLY_REFRESH_SECONDS, ttl / 2)
            self._token = (token, expiry)
            return token

    async def get(self, url: str) -> httpx.Response:
        """GET with the bearer token; a 401 is retried once with a fresh token (a second 401
        is returned to the caller). Transport errors are the caller's to map."""
        response: httpx.Response | None = None
        for _ in range(2):
            token = await self.access_token()
            response = await self.http.get(url, headers={"authorization": f"Bearer {token}"})
            if response.status_code != 401:
                return response
            self.forget()
        assert response is not None
        return response
