"""The OIDC provider's JSON shapes of its admin and internal APIs (the OAuth endpoints answer
in the formats their RFCs fix, built in the routes)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ciam_auth.models import OAuthClient
from ciam_auth.oidc.registration import AuthMethod, ClientSpec, GrantType

SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
DEFAULT_GRANTS: tuple[GrantType, ...] = ("authorization_code", "refresh_token")


def _uri(value: str, *, what: str) -> str:
    parts = urlsplit(value)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError(f"{what} must be an absolute http(s) URI")
    if parts.scheme == "http" and not loopback:
        raise ValueError(f"{what} must use https (http only for loopback)")
    if parts.fragment:
        raise ValueError(f"{what} must not have a fragment")
    return value


class BrandingIn(BaseModel):
    """The look of the privacy pages opened for the app (Auth0's "branding"). The rules beyond
    the shape (https logo, #rrggbb colours, WCAG AA contrast) are oidc/branding.py's, so every
    registration path applies them and the problem names the rule."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    logo_uri: str | None = Field(default=None, max_length=1000)
    primary_color: str | None = Field(default=None, max_length=7)
    text_color: str | None = Field(default=None, max_length=7)


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    brand: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    scopes: list[str] = Field(default_factory=lambda: ["openid"], max_length=50)
    purposes: list[str] = Field(default_factory=list, max_length=100)
    grant_types: list[GrantType] = Field(default_factory=lambda: list(DEFAULT_GRANTS), min_length=1)
    auth_method: AuthMethod = "client_secret_basic"
    first_party: bool = False
    # With private_key_jwt: the app's public signing keys (no secret is issued).
    jwks: dict[str, Any] | None = None
    branding: BrandingIn | None = None
    # Origins (https://shop.example.com) whose pages may frame the privacy pages opened with
    # this client's id: their `frame-ancestors`.
    embed_origins: list[str] = Field(default_factory=list, max_length=10)

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _uris(cls, values: list[str]) -> list[str]:
        return [_uri(v, what="a redirect URI") for v in values]

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, values: list[str]) -> list[str]:
        for value in values:
            if not SCOPE.match(value):
                raise ValueError(f"`{value}` is not a valid scope name")
        return values

    def spec(self) -> ClientSpec:
        values = self.model_dump()
        if self.branding is not None:
            values["branding"] = self.branding.model_dump(exclude_none=True) or None
        return ClientSpec(**values)


class ClientOut(BaseModel):
    client_id: str
    client_secret: str | None = None
    name: str
    brand: str | None = None  # left out when none (response_model_exclude_none)
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    scopes: list[str]
    purposes: list[str]
    grant_types: list[str]
    auth_method: str
    first_party: bool
    jwks: dict[str, Any] | None = None
    branding: dict[str, str] | None = None
    embed_origins: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, client: OAuthClient, secret: str | None = None) -> ClientOut:
        return cls(
            client_id=client.client_id,
            client_secret=secret,
            name=client.name,
            brand=client.brand,
            redirect_uris=client.redirect_uris,
            post_logout_redirect_uris=client.post_logout_redirect_uris,
            scopes=client.scopes,
            purposes=client.purposes,
            grant_types=client.grant_types,
            auth_method=client.auth_method,
            first_party=client.first_party,
            jwks=client.jwks,
            branding=client.branding,
            embed_origins=client.embed_origins or [],
            created_at=client.created_at,
            updated_at=client.updated_at,
        )


class KeysOut(BaseModel):
    active_kid: str
    published_kids: list[str]


class ContactOut(BaseModel):
    subject_id: uuid.UUID
    email: str
    email_verified: bool
    locale: str
