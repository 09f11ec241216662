"""Where to write to a customer: asked of the auth service when a confirmation is sent.

The notifier keeps no address book (identity events carry no personal data): it calls
`GET {auth}/v1/internal/contacts/{subject}` with its own access token (client credentials,
scope `auth:contacts`, client_secret_basic), cached until shortly before it expires
(`ciam_shared.tokens.client.ClientCredentials`, shared with the profile service). The
address is used for one send and never stored. 404 means the account is gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from ciam_shared.tokens.client import ClientCredentials, TokenUnavailable

SCOPE = "auth:contacts"


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
        self.auth_url = auth_url.rstrip("/")
        self.credentials = ClientCredentials(http, self.auth_url, client_id, secret, SCOPE)

    def __repr__(self) -> str:  # never show the secret
        return f"AuthContacts({self.auth_url!r}, client_id={self.credentials.client_id!r})"

    async def lookup(self, subject_id: uuid.UUID) -> Contact | None:
        """The subject's contact, or None when the account no longer exists."""
        try:
            response = await self.credentials.get(
                f"{self.auth_url}/v1/internal/contacts/{subject_id}"
            )
        except TokenUnavailable as exc:
            raise ContactsUnavailable(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise ContactsUnavailable(f"contacts: {type(exc).__name__}") from exc
        if response.status_code == 404 and _problem_type(response).endswith("/account-not-found"):
            return None  # not any 404: a wrong auth URL must not read as "deleted"
        if response.status_code != 200:  # a second 401 too: the token was refused twice
            raise ContactsUnavailable(f"contacts: HTTP {response.status_code}")
        body = response.json()
        return Contact(
            email=str(body["email"]),
            email_verified=bool(body.get("email_verified", False)),
            locale=str(body.get("locale") or "en"),
        )


def _problem_type(response: httpx.Response) -> str:
    try:
        return str(response.json().get("type", ""))
    except ValueError:
        return ""
