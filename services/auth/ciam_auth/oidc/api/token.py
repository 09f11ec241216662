"""The token, introspection, revocation and userinfo endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import OAuthClient
from ciam_auth.oidc.errors import NO_STORE, OAuthError, invalid_request
from ciam_auth.oidc.provider import Provider
from ciam_auth.oidc.service import clients, flows
from ciam_auth.parts import get_provider
from ciam_auth.transactions import transaction

router = APIRouter(tags=["oidc"])
ProviderDep = Annotated[Provider, Depends(get_provider)]
FORM = "application/x-www-form-urlencoded"


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM:
        raise invalid_request(f"Send the parameters as {FORM}.")
    pairs = [
        (k, v) for k, v in (await request.form(max_files=0)).multi_items() if isinstance(v, str)
    ]
    names = [k for k, _ in pairs]
    if len(names) != len(set(names)):  # RFC 6749 3.2: parameters must not repeat
        raise invalid_request("A parameter is repeated.")
    return dict(pairs)


async def _client(
    db: AsyncSession, request: Request, form: dict[str, str], provider: Provider
) -> OAuthClient:
    creds = clients.credentials(request, form)
    return await clients.authenticate(db, creds, provider.clients, provider.assertions)


@router.post("/token")
async def token(request: Request, provider: ProviderDep) -> JSONResponse:
    form = await _form(request)
    async with transaction(provider.runtime.sessions) as db:
        client = await _client(db, request, form, provider)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            issued = await flows.authorization_code(db, provider, client, form)
        elif grant_type == "refresh_token":
            issued = await flows.refresh(db, provider, client, form)
        elif grant_type == "client_credentials":
            issued = await flows.client_credentials(provider, client, form)
        elif not grant_type:
            raise invalid_request("grant_type is required.")
        else:
            raise OAuthError("unsupported_grant_type", f"{grant_type} is not offered.")
    return JSONResponse(issued.response(), headers=NO_STORE)


@router.post("/introspect")
async def introspect(request: Request, provider: ProviderDep) -> JSONResponse:
    form = await _form(request)
    async with transaction(provider.runtime.sessions) as db:
        client = await _client(db, request, form, provider)
        if client.auth_method == "none":
            raise OAuthError(
                "unauthorized_client", "Public clients may not introspect.", status=403
            )
        body = await flows.introspect(db, provider, client, form.get("token", ""))
    return JSONResponse(body, headers=NO_STORE)


@router.post("/revoke")
async def revoke(request: Request, provider: ProviderDep) -> JSONResponse:
    form = await _form(request)
    if "token" not in form:
        raise invalid_request("token is required.")
    async with transaction(provider.runtime.sessions) as db:
        client = await _client(db, request, form, provider)
        await flows.revoke(db, provider, client, form["token"])
    return JSONResponse({}, headers=NO_STORE)


# One route per method: each has its own operation id in the OpenAPI document.
@router.get("/userinfo")
@router.post("/userinfo")
async def userinfo(request: Request, provider: ProviderDep) -> JSONResponse:
    try:
        claims = await provider.bearer_claims(request)
        if "openid" not in str(claims.get("scope", "")).split():
            raise ValueError("no openid scope")
        account_id = uuid.UUID(str(claims["sub"]))
    except (ValueError, KeyError):
        return JSONResponse(
            {"error": "invalid_token", "error_description": "The access token is not valid."},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'} | NO_STORE,
        )
    async with transaction(provider.runtime.sessions) as db:
        body = await flows.userinfo(db, account_id, claims)
    if body is None:
        return JSONResponse({"error": "invalid_token"}, status_code=401, headers=NO_STORE)
    return JSONResponse(body, headers=NO_STORE)
