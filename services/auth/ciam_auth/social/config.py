"""Upstream providers as the operator configures them (`AUTH_SOCIAL_PROVIDERS`, a JSON list),
with presets for Google, Apple and Facebook."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from joserfc import jwt
from joserfc.jwk import ECKey
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

ProviderId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
# Asymmetric algorithms only: an HMAC ID token would be signed with our client secret, and
# `none` is no signature. The key must also fit the algorithm (checked at verification).
SAFE_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
APPLE_AUDIENCE = "https://appleid.apple.com"
# Apple allows a client secret to live up to 6 months; we mint a fresh one every few minutes.
APPLE_SECRET_TTL_S = 300

PRESETS: dict[str, dict[str, object]] = {
    "google": {
        "label": "Google",
        "issuer": "https://accounts.google.com",
        "scopes": ["openid", "email", "profile"],
    },
    "apple": {
        "label": "Apple",
        "issuer": "https://appleid.apple.com",
        "scopes": ["openid", "email", "name"],
        # Apple answers with a form POST when scopes are asked for.
        "response_mode": "form_post",
        # ...and its ID token carries no name: the name comes in the `user` form field.
        "name_in_user_param": True,
    },
    "facebook": {
        "label": "Facebook",
        # Facebook's OIDC discovery (used by its "Limited Login"); the manual web flow with
        # `scope=openid`, PKCE and a nonce returns an ID token we validate like any other.
        # Facebook sends no `email_verified`: its emails are never treated as verified.
        "issuer": "https://www.facebook.com",
        "discovery_url": "https://www.facebook.com/.well-known/openid-configuration/",
        "scopes": ["openid", "email", "public_profile"],
    },
}


class UpstreamConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ProviderId
    preset: Literal["oidc", "google", "apple", "facebook"] = "oidc"
    label: str = ""
    issuer: str = ""
    discovery_url: str = ""
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = SecretStr("")
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    enabled: bool = True
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    response_mode: Literal["query", "form_post"] = "query"
    # Apple sends the customer's name once, at the first authorization, as JSON in the posted
    # `user` field (not in the signed ID token).
    name_in_user_param: bool = False
    # Apple: the client secret is an ES256 JWT signed with the team's key.
    team_id: str = ""
    key_id: str = ""
    private_key: SecretStr = SecretStr("")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("preset") in PRESETS:
            return PRESETS[data["preset"]] | data
        return data

    @model_validator(mode="after")
    def _check(self) -> UpstreamConfig:
        if not self.issuer:
            raise ValueError("issuer is required (or a preset)")
        if "openid" not in self.scopes:
            raise ValueError("scopes must include openid")
        if unsafe := [a for a in self.algorithms if a not in SAFE_ALGORITHMS]:
            raise ValueError(f"algorithms not allowed: {unsafe} (asymmetric only)")
        if self.preset == "apple" and not (self.team_id and self.key_id and self.private_key):
            raise ValueError("apple needs team_id, key_id and private_key")
        return self

    @property
    def discovery(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def name(self) -> str:
        return self.label or self.id

    def secret(self) -> str:
        """The client secret to send to the token endpoint."""
        if self.preset == "apple":
            return apple_client_secret(self)
        return self.client_secret.get_secret_value()


def apple_client_secret(config: UpstreamConfig) -> str:
    """Sign in with Apple: the client secret is a JWT (ES256, `kid` = the key id) issued by
    the team, for Apple, about our client id."""
    now = int(time.time())
    key = ECKey.import_key(config.private_key.get_secret_value())
    claims = {
        "iss": config.team_id,
        "iat": now,
        "exp": now + APPLE_SECRET_TTL_S,
        "aud": APPLE_AUDIENCE,
        "sub": config.client_id,
    }
    return jwt.encode({"alg": "ES256", "kid": config.key_id}, claims, key)
