"""Where to write to a customer: asked of the auth service when a confirmation is sent.

The notifier keeps no address book (identity events carry no personal data): it calls
`GET {auth}/v1/internal/contacts/{subject}` with its own access token (client credentials,
scope `auth:contacts`, client_secret_basic), cached until shortly before it expires
(`ciam_shared.tokens.internal.InternalAuthApi`, shared with the profile service). The
address is used for one send and never stored. 404 means the account is gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from ciam_shared.tokens.internal import InternalApiUnavailable, InternalAuthApi

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
        self.api = InternalAuthApi(http, auth_url, client_id, secret, SCOPE)
        self.credentials = self.api.credentials  # the cached token, for tests

    def __repr__(self) -> str:  # never show the secret
        return f"AuthContacts({self.api.auth_url!r}, client_id={self.credentials.client_id!r})"

    async def lookup(self, subject_id: uuid.UUID) -> Contact | None:
        """The subject's contact, or None when the account no longer exists."""
        try:
            body = await self.api.get("contacts", subject_id)
        except InternalApiUnavailable as exc:
            raise ContactsUnavailable(str(exc)) from exc
        if body is None:
            return None
        try:
            return Contact(
                email=str(body["email"]),
                email_verified=bool(body.get("email_verified", False)),
                locale=str(body.get("locale") or "en"),
            )
        except KeyError as exc:
            raise ContactsUnavailable("contacts: malformed response") from exc
