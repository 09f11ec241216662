"""Admin API: brand apps (OIDC clients) and signing keys. Needs a client-credentials token of
this provider with the `auth:admin` scope, of an operator client (guards.py); a customer's
token is refused whatever its scopes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from ciam_auth.oidc.api import guards
from ciam_auth.oidc.provider import Provider
from ciam_auth.oidc.schemas import ClientIn, ClientOut, KeysOut
from ciam_auth.oidc.service import clients
from ciam_auth.parts import get_provider
from ciam_auth.transactions import SessionDep
from ciam_shared.db import after_commit
from ciam_shared.http.openapi import problem_responses
from ciam_shared.service import RuntimeDep, ServiceRuntime
from ciam_shared.settings import Environment
from ciam_shared.tokens.scopes import AUTH_ADMIN

ADMIN_SCOPE = AUTH_ADMIN
router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problem_responses(401, 403))
ProviderDep = Annotated[Provider, Depends(get_provider)]


async def require_admin(request: Request, provider: ProviderDep, db: SessionDep) -> str:
    """The operator client calling: who it is before which scopes (guards.py)."""
    client = await guards.calling_client(request, provider, db, ADMIN_SCOPE, operator=True)
    return client.client_id


Admin = Annotated[str, Depends(require_admin)]


@router.post(
    "/clients",
    status_code=status.HTTP_201_CREATED,
    response_model_exclude_none=True,
    responses=problem_responses(400),
)
async def create_client(body: ClientIn, db: SessionDep, runtime: RuntimeDep, _: Admin) -> ClientOut:
    client, secret = await clients.register(
        db, body.spec(), topic_prefix=runtime.topic_prefix, loopback_http=_loopback_http(runtime)
    )
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
        db,
        client_id,
        body.spec(),
        topic_prefix=runtime.topic_prefix,
        loopback_http=_loopback_http(runtime),
    )
    return ClientOut.of(client)


def _loopback_http(runtime: ServiceRuntime[Any]) -> bool:
    """An http://localhost page may frame the privacy pages outside production (a brand app
    developed on a laptop, the browser tests); production asks for https origins."""
    return runtime.settings.environment is not Environment.PRODUCTION


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
