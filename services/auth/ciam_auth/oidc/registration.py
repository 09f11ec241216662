"""What a client registration may be: the rules every registration path applies (admin API,
declared service clients, CLI), with nothing of the database, so the settings can check a
declaration when they load."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from ciam_auth.oidc import assertions, branding, policy
from ciam_shared.http.problems import DomainError

AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]


class InvalidClientRegistration(DomainError):
    status = 422
    type_slug = "invalid-client"
    title = "Invalid client registration"


@dataclass(frozen=True)
class ClientSpec:
    name: str
    brand: str | None
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    scopes: list[str]
    purposes: list[str]
    grant_types: list[GrantType]
    auth_method: AuthMethod
    first_party: bool
    # The public keys of a `private_key_jwt` client; None for every other method.
    jwks: dict[str, Any] | None = None
    # The look of the privacy pages opened for this app, and the origins that may frame them
    # (branding.py): none by default, so a client registered before keeps auth's own look.
    branding: dict[str, str] | None = None
    embed_origins: list[str] = field(default_factory=list)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check(spec: ClientSpec, *, loopback_http: bool = False) -> None:
    """Refuse a registration that cannot work or that breaks the authorisation model.
    `loopback_http`: outside production, an http://localhost origin may frame the pages."""
    if problem := branding.branding_problem(spec.branding):
        raise InvalidClientRegistration(problem)
    if problem := branding.origins_problem(spec.embed_origins, loopback_http=loopback_http):
        raise InvalidClientRegistration(problem)
    if (spec.auth_method == "private_key_jwt") != (spec.jwks is not None):
        raise InvalidClientRegistration("jwks is given with private_key_jwt, and only then.")
    if spec.jwks is not None:
        try:
            assertions.public_jwks(spec.jwks)
        except assertions.InvalidJwks as exc:
            raise InvalidClientRegistration(str(exc)) from None
    if spec.auth_method == "none" and "client_credentials" in spec.grant_types:
        raise InvalidClientRegistration("A public client cannot use client credentials.")
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        raise InvalidClientRegistration("The authorization code grant needs a redirect URI.")
    if "refresh_token" in spec.grant_types and "authorization_code" not in spec.grant_types:
        raise InvalidClientRegistration("Refresh tokens come with the authorization code grant.")
    if problem := policy.registration_problem(
        scopes=spec.scopes,
        redirect_uris=spec.redirect_uris,
        post_logout_redirect_uris=spec.post_logout_redirect_uris,
        grant_types=spec.grant_types,
    ):
        raise InvalidClientRegistration(problem)


def columns(spec: ClientSpec) -> dict[str, object]:
    return {
        "name": spec.name,
        "brand": spec.brand,
        "redirect_uris": list(spec.redirect_uris),
        "post_logout_redirect_uris": list(spec.post_logout_redirect_uris),
        "scopes": sorted(set(spec.scopes)),
        "purposes": sorted(set(spec.purposes)),
        "grant_types": sorted(set(spec.grant_types)),
        "auth_method": spec.auth_method,
        "first_party": spec.first_party,
        "jwks": assertions.public_jwks(spec.jwks) if spec.jwks is not None else None,
        "branding": dict(spec.branding) if spec.branding else None,
        "embed_origins": list(dict.fromkeys(spec.embed_origins)),
    }
