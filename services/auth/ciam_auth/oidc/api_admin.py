"""Admin API: brand apps (OIDC clients) and signing keys. Needs a client-credentials token of
this provider with the `auth:admin` scope, of an operator client (guards.py); a customer's
token is refused whatever its scopes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ciam_auth.models import OAuthClient
from ciam_auth.oidc import clients, guards
from ciam_auth.oidc.provider import Provider, get_provider
from ciam_shared.db import after_commit
from ciam_shared.http.openapi import problem_responses
from ciam_shared.service import RuntimeDep, SessionDep
from ciam_shared.tokens.scopes import AUTH_ADMIN

ADMIN_SCOPE = AUTH_ADMIN
SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
DEFAULT_GRANTS: tuple[clients.GrantType, ...] = ("authorization_code", "refresh_token")
router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problem_responses(401, 403))
ProviderDep = Annotated[Provider, Depends(get_provider)]


async def require_admin(request: Request, provider: ProviderDep, db: SessionDep) -> str:
    """The operator client calling: who it is before which scopes (guards.py)."""
    client = await guards.calling_client(request, provider, db, ADMIN_SCOPE, operator=True)
    return client.client_id


Admin = Annotated[str, Depends(require_admin)]


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


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    brand: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    scopes: list[str] = Field(default_factory=lambda: ["openid"], max_length=50)
    purposes: list[str] = Field(default_factory=list, max_length=100)
    grant_types: list[clients.GrantType] = Field(
        default_factory=lambda: list(DEFAULT_GRANTS), min_length=1
    )
    auth_method: clients.AuthMethod = "client_secret_basic"
    first_party: bool = False
    # With private_key_jwt: the app's public signing keys (no secret is issued).
    jwks: dict[str, Any] | None = None

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

    def spec(self) -> clients.ClientSpec:
        return clients.ClientSpec(**self.model_dump())


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
            created_at=client.created_at,
            updated_at=client.updated_at,
        )


@router.post(
    "/clients",
    status_code=status.HTTP_201_CREATED,
    response_model_exclude_none=True,
    responses=problem_responses(400),
)
async def create_client(body: ClientIn, db: SessionDep, runtime: RuntimeDep, _: Admin) -> ClientOut:
    client, secret = await clients.register(db, body.spec(), topic_prefix=runtime.topic_prefix)
    return ClientOut.of(client, secret)


@router.get("/clients", response_model_exclude_none=True)
async def list_clients(db: SessionDep, _: Admin) -> list[ClientOut]:
    return [ClientOut.of(c) for c in await clients.list_all(db)]


@router.get(
    "/clients/{client_id}", response_model_exclude_none=True, responses=problem_responses(404)
)
async def get_client(client_id: str, db: SessionDep, _: Admin) -> ClientOut:
    return ClientOut.of(await clients.get(db, client_id))


@router.put(
    "/clients/{client_id}", response_model_exclude_none=True, responses=problem_responses(400, 404)
)
async def update_client(
    client_id: str,
    body: ClientIn,
    db: SessionDep,
    runtime: RuntimeDep,
    provider: ProviderDep,
    _: Admin,
) -> ClientOut:
    after_commit(db, lambda: provider.clients.forget(client_id))
    client = await clients.update_client(
        db, client_id, body.spec(), topic_prefix=runtime.topic_prefix
    )
    return ClientOut.of(client)


@router.post(
    "/clients/{client_id}/secret",
    response_model_exclude_none=True,
    responses=problem_responses(400, 404),
)
async def rotate_client_secret(
    client_id: str, db: SessionDep, provider: ProviderDep, _: Admin
) -> ClientOut:
    after_commit(db, lambda: provider.clients.forget(client_id))
    secret = await clients.rotate_secret(db, client_id)
    return ClientOut.of(await clients.get(db, client_id), secret)


@router.delete(
    "/clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
async def delete_client(
    client_id: str, db: SessionDep, runtime: RuntimeDep, provider: ProviderDep, _: Admin
) -> None:
    after_commit(db, lambda: provider.clients.forget(client_id))
    await clients.remove(db, client_id, topic_prefix=runtime.topic_prefix)


class KeysOut(BaseModel):
    active_kid: str
    published_kids: list[str]


@router.post("/keys/rotate")
async def rotate_keys(provider: ProviderDep, _: Admin) -> KeysOut:
    """Adds a key that signs from now on; the previous one stays published for the overlap."""
    async with provider.runtime.sessions() as db, db.begin():
        await provider.ring.rotate(db)
    await provider.reload_keys()
    return _keys(provider)


@router.get("/keys")
async def list_keys(provider: ProviderDep, _: Admin) -> KeysOut:
    return _keys(provider)


def _keys(provider: Provider) -> KeysOut:
    kids = [k["kid"] for k in provider.ring.jwks()["keys"]]
    return KeysOut(active_kid=provider.ring.active.kid, published_kids=kids)
