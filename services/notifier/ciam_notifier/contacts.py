"""Where to write to a customer: asked of the auth service when a confirmation is sent.

The notifier keeps no address book (identity events carry no personal data): it calls
`GET {auth}/v1/internal/contacts/{subject}` with its own access token (client credentials,
scope `auth:contacts`, client_secret_basic), cached until shortly before it expires. The
address is used for one send and never stored. 404 means the account is gone.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

SCOPE = "auth:contacts"
# Fetch a new token this long before the cached one expires (clock skew, slow requests).
EARLY_REFRESH_SECONDS = 30.0


class ContactsUnavailable(Exception):
    """Auth could not answer now: try again later."""


@dataclass(frozen=True)
class Contact:
    email: str
    email_verified: bool
    locale: str


class AuthContacts:
    def __init__(
        self, http: httpx.AsyncClient, auth_url: str, client_id: str, secret: SecretStr
    ) -> None:
        self.http = http
        self.auth_url = auth_url.rstrip("/")
        self.client_id = client_id
        self._secret = secret
        self._token: tuple[str, float] | None = None  # (token, monotonic expiry)
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # never show the secret
        return f"AuthContacts({self.auth_url!r}, client_id={self.client_id!r})"

    async def _access_token(self) -> str:
        async with self._lock:
            if self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            try:
                response = await self.http.post(
                    f"{self.auth_url}/token",
                    data={"grant_type": "client_credentials", "scope": SCOPE},
                    auth=httpx.BasicAuth(self.client_id, self._secret.get_secret_value()),
                )
            except httpx.HTTPError as exc:
                raise ContactsUnavailable(f"token: {type(exc).__name__}") from exc
            if response.status_code != 200:
                # The body is auth's error (invalid_client...), never our secret.
                raise ContactsUnavailable(f"token: HTTP {response.status_code}")
            body = response.json()
            ttl = float(body.get("expires_in", 60))
            expiry = time.monotonic() + max(ttl - EARLY_REFRESH_SECONDS, ttl / 2)
            self._token = (str(body["access_token"]), expiry)
            return self._token[0]

    async def lookup(self, subject_id: uuid.UUID) -> Contact | None:
        """The subject's contact, or None when the account no longer exists."""
        for _ in range(2):
            token = await self._access_token()
            try:
                response = await self.http.get(
                    f"{self.auth_url}/v1/internal/contacts/{subject_id}",
                    headers={"authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError as exc:
                raise ContactsUnavailable(f"contacts: {type(exc).__name__}") from exc
            if response.status_code == 401:  # revoked or rotated keys: a fresh token, once
                self._token = None
                continue
            if response.status_code == 404 and _problem_type(response).endswith(
                "/account-not-found"
            ):
                return None  # not any 404: a wrong auth URL must not read as "deleted"
            if response.status_code != 200:
                raise ContactsUnavailable(f"contacts: HTTP {response.status_code}")
            body = response.json()
            return Contact(
                email=str(body["email"]),
                email_verified=bool(body.get("email_verified", False)),
                locale=str(body.get("locale") or "en"),
            )
        raise ContactsUnavailable("contacts: the token was refused twice")


def _problem_type(response: httpx.Response) -> str:
    try:
        return str(response.json().get("type", ""))
    except ValueError:
        return ""
