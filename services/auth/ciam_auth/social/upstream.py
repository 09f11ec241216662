"""Talking to an upstream provider: its discovery document, its JWKS and its token endpoint.
Every call has a timeout; anything unexpected becomes `ProviderUnavailable` (a clear page for
the customer, no session, no account)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ciam_auth.social.config import UpstreamConfig

log = logging.getLogger(__name__)
DISCOVERY_TTL_S = 3600.0
# An unknown `kid` refetches the JWKS (the provider rotated), at most this often.
JWKS_REFETCH_S = 30.0


class ProviderUnavailable(Exception):
    """The provider is down, slow or answered something we cannot use."""


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    iss_parameter_supported: bool
    token_auth_methods: tuple[str, ...]
    userinfo_endpoint: str | None = None


@dataclass
class _Keys:
    keys: KeySet
    fetched_at: float


@dataclass
class Upstream:
    config: UpstreamConfig
    http: httpx.AsyncClient
    _metadata: tuple[Metadata, float] | None = None
    _keys: _Keys | None = field(default=None)

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{what}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ProviderUnavailable(f"{what}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable(f"{what}: not JSON") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{what}: not a JSON object")
        return body

    async def metadata(self) -> Metadata:
        if self._metadata and time.monotonic() - self._metadata[1] < DISCOVERY_TTL_S:
            return self._metadata[0]
        doc = await self._get_json(self.config.discovery, "discovery")
        # OIDC Discovery 4.3: the document's issuer must be exactly the one configured.
        if doc.get("issuer") != self.config.issuer:
            raise ProviderUnavailable("discovery: issuer differs from the configured one")
        try:
            metadata = Metadata(
                issuer=self.config.issuer,
                authorization_endpoint=_url(doc, "authorization_endpoint"),
                token_endpoint=_url(doc, "token_endpoint"),
                jwks_uri=_url(doc, "jwks_uri"),
                iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported")
                is True,
                token_auth_methods=tuple(
                    doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
                ),
                userinfo_endpoint=_url(doc, "userinfo_endpoint")
                if doc.get("userinfo_endpoint") is not None
                else None,
            )
        except (KeyError, TypeError):
            raise ProviderUnavailable("discovery: a required endpoint is missing") from None
        self._metadata = (metadata, time.monotonic())
        return metadata

    async def key_set(self, *, refresh: bool = False) -> KeySet:
        now = time.monotonic()
        stale = self._keys is None or (refresh and now - self._keys.fetched_at > JWKS_REFETCH_S)
        if stale:
            metadata = await self.metadata()
            doc = await self._get_json(metadata.jwks_uri, "jwks")
            try:
                # Private or symmetric members are dropped: only public keys verify.
                public = [k for k in doc.get("keys", []) if isinstance(k, dict) and "d" not in k]
                keys = KeySet.import_key_set({"keys": [k for k in public if k.get("kty") != "oct"]})
            except (JoseError, ValueError, TypeError):
                raise ProviderUnavailable("jwks: not a key set") from None
            self._keys = _Keys(keys, now)
        assert self._keys is not None
        return self._keys.keys

    async def exchange(self, code: str, *, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The token request (RFC 6749 4.1.3 with PKCE): returns the token response."""
        metadata = await self.metadata()
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        secret = self.config.secret()
        basic = "client_secret_basic" in metadata.token_auth_methods
        if not basic:
            data |= {"client_id": self.config.client_id, "client_secret": secret}
        try:
            if basic:
                auth = httpx.BasicAuth(self.config.client_id, secret)
                response = await self.http.post(metadata.token_endpoint, data=data, auth=auth)
            else:
                response = await self.http.post(metadata.token_endpoint, data=data)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"token: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable(f"token: HTTP {response.status_code}, not JSON") from None
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise ProviderUnavailable(f"token: HTTP {response.status_code} {error or ''}".strip())
        if not isinstance(body.get("id_token"), str):
            raise ProviderUnavailable("token: no id_token in the response")
        return body

    async def userinfo(self, endpoint: str, access_token: str) -> dict[str, Any]:
        """The userinfo response (OIDC Core 5.3) as a JSON object; a signed or encrypted one
        (`application/jwt`) is not read: the provider is then unavailable for us."""
        headers = {"authorization": f"Bearer {access_token}", "accept": "application/json"}
        try:
            response = await self.http.get(endpoint, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"userinfo: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ProviderUnavailable(f"userinfo: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable("userinfo: not JSON") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable("userinfo: not a JSON object")
        return body


def _url(doc: dict[str, Any], name: str) -> str:
    value = doc[name]
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise TypeError(name)
    return value


class Upstreams:
    """The enabled providers of this process, by id."""

    def __init__(self, configs: list[UpstreamConfig], *, timeout_s: float) -> None:
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False)
        self.by_id = {c.id: Upstream(c, self.http) for c in configs if c.enabled}

    def get(self, provider_id: str) -> Upstream | None:
        return self.by_id.get(provider_id)

    async def aclose(self) -> None:
        await self.http.aclose()
