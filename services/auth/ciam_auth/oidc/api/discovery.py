"""Discovery, JWKS and RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from ciam_auth.oidc.acr import ACR_VALUES
from ciam_auth.oidc.api.authorize import CurrentSession
from ciam_auth.oidc.api.pages import error_page, locale, render
from ciam_auth.oidc.assertions import ALGORITHMS as ASSERTION_ALGORITHMS
from ciam_auth.oidc.keys import ALG
from ciam_auth.oidc.provider import Provider
from ciam_auth.oidc.service import authorize
from ciam_auth.oidc.tokens import ID_TYP
from ciam_auth.parts import get_provider, parts_of
from ciam_auth.sessions.store import COOKIE
from ciam_auth.transactions import SessionDep
from ciam_shared.tokens.scopes import CUSTOMER_SCOPES

router = APIRouter(tags=["oidc"])
ProviderDep = Annotated[Provider, Depends(get_provider)]
CONFIDENTIAL = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
CUSTOMER_LIST = sorted(CUSTOMER_SCOPES)
LOGOUT_PARAMS = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales")


@router.get("/.well-known/openid-configuration")
async def discovery(provider: ProviderDep) -> JSONResponse:
    base = provider.issuer.issuer
    document: dict[str, Any] = {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "introspection_endpoint": f"{base}/introspect",
        "revocation_endpoint": f"{base}/revoke",
        "end_session_endpoint": f"{base}/end-session",
        # What an app may ask a customer for (admin scopes never; docs/security.md).
        "scopes_supported": ["openid", "profile", "email", "offline_access", *CUSTOMER_LIST],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALG],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": [*CONFIDENTIAL, "none"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL,
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": CONFIDENTIAL,
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "acr",
            "sid",
            "email",
            "email_verified",
        ],
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": ["none", "login", "consent"],
        "acr_values_supported": list(ACR_VALUES),
        "ui_locales_supported": ["en", "pl"],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
    }
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/jwks.json")
async def jwks(provider: ProviderDep) -> JSONResponse:
    return JSONResponse(provider.ring.jwks(), headers={"Cache-Control": "public, max-age=300"})


# One route per method: each has its own operation id in the OpenAPI document.
@router.get("/end-session", response_model=None)
@router.post("/end-session", response_model=None)
async def logout(
    request: Request, db: SessionDep, provider: ProviderDep, session: CurrentSession
) -> Response:
    if request.method == "POST":
        form = await request.form()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        params = dict(request.query_params)
    lang = locale(request, params.get("ui_locales"))
    hint: dict[str, Any] | None = None
    if token := params.get("id_token_hint"):
        try:
            hint = provider.issuer.verify_own(token, typ=ID_TYP, require_live=False)
        except ValueError:
            return error_page(request, "bad_logout", lang=lang)
    client_id = params.get("client_id") or (str(hint["aud"]) if hint else None)
    if hint and client_id != hint["aud"]:
        return error_page(request, "bad_logout", lang=lang)
    target = params.get("post_logout_redirect_uri")
    if target and not await authorize.post_logout_target_allowed(db, client_id, target):
        return error_page(request, "bad_logout", lang=lang)
    if session is not None:
        confirmed = hint is not None and hint.get("sub") == str(session.account_id)
        if not confirmed and request.method == "POST":
            confirmed = hmac.compare_digest(
                params.get("csrf_token", ""), provider.csrf_token(session.id, "logout")
            )
        if not confirmed:  # a bare GET could come from any site: ask first
            shown = {k: v for k, v in params.items() if k in LOGOUT_PARAMS}
            return render(
                request,
                "logout.html",
                lang=lang,
                params=shown,
                csrf_token=provider.csrf_token(session.id, "logout"),
            )
        await parts_of(request).sessions.revoke(session.account_id, session.id)
    response: Response
    if target:
        query = {"state": params["state"]} if "state" in params else {}
        url = target + (("&" if "?" in target else "?") + urlencode(query) if query else "")
        response = RedirectResponse(url, status_code=303)
    else:
        response = render(request, "logged_out.html", lang=lang)
    response.delete_cookie(COOKIE, path="/")
    return response
