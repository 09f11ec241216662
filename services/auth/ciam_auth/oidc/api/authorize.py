"""GET/POST /authorize and the consent screen's POST."""

from __future__ import annotations

import hmac
import logging
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ciam_auth.oidc.acr import PHISHING_RESISTANT
from ciam_auth.oidc.api.pages import error_page, locale, render, scope_label
from ciam_auth.oidc.api.purposes import purpose_names
from ciam_auth.oidc.grants import CodeGrant
from ciam_auth.oidc.provider import Provider
from ciam_auth.oidc.service import authorize as az
from ciam_auth.parts import current_session, get_provider
from ciam_auth.sessions.store import Session
from ciam_auth.transactions import SessionDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["oidc"])
ProviderDep = Annotated[Provider, Depends(get_provider)]
CurrentSession = Annotated[Session | None, Depends(current_session)]
# A fresh sign-in within this window satisfies prompt=login and a small max_age, so the
# return from the login page does not ask again.
REAUTH_WINDOW_S = 120
AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "ui_locales",
    "response_mode",
    "acr_values",
)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


async def _params(request: Request) -> dict[str, str]:
    if request.method == "POST":
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return dict(request.query_params)


# One route per method: each has its own operation id in the OpenAPI document.
@router.get("/authorize", response_model=None)
@router.post("/authorize", response_model=None)
async def authorize(
    request: Request, db: SessionDep, provider: ProviderDep, session: CurrentSession
) -> Response:
    params = await _params(request)
    lang = locale(request, params.get("ui_locales"))
    try:
        req = await az.parse(db, params)
    except az.PageError as exc:
        log.info("authorization request refused", extra={"reason": str(exc)})
        return error_page(request, str(exc), lang=lang)
    except az.RedirectError as exc:
        return _redirect_error(params, provider, exc)
    if az.needs_login(req, session):
        if "none" in req.prompt:
            return _redirect(req, provider, error="login_required")
        again = {k: v for k, v in params.items() if k in AUTHORIZE_PARAMS and k != "prompt"}
        login = {"return_to": ""}
        if "login" in req.prompt or req.max_age is not None:
            again["max_age"] = str(max(req.max_age or 0, REAUTH_WINDOW_S))
            # The login page then asks even a signed-in customer, and its "Sign in with ..."
            # buttons make the upstream provider ask too (not answer from its own session).
            login["prompt"] = "login"
        if az.needs_phishing_resistant(req, session):
            login["prompt"], login["acr"] = "login", PHISHING_RESISTANT  # a passkey only
        login["return_to"] = "/authorize?" + urlencode(again)
        if req.ui_locales:
            login["ui_locales"] = req.ui_locales
        return _see_other("/login?" + urlencode(login))
    assert session is not None
    if await az.needs_consent(db, req, session):
        if "none" in req.prompt:
            return _redirect(req, provider, error="consent_required")
        shown = {k: v for k, v in params.items() if k in AUTHORIZE_PARAMS}
        return render(
            request,
            "consent.html",
            lang=lang,
            client_name=req.client.name,
            scope_labels=[scope_label(lang, s) for s in req.scopes],
            purpose_names=await purpose_names(request, req.client.purposes, lang),
            params=shown,
            csrf_token=provider.csrf_token(session.id, "consent"),
        )
    return await _issue_code(req, provider, session)


@router.post("/authorize/consent", response_model=None)
async def consent(
    request: Request, db: SessionDep, provider: ProviderDep, session: CurrentSession
) -> Response:
    params = await _params(request)
    lang = locale(request, params.get("ui_locales"))
    if session is None or not hmac.compare_digest(
        params.get("csrf_token", ""), provider.csrf_token(session.id, "consent")
    ):
        return error_page(request, "csrf", lang=lang, status=403)
    try:
        req = await az.parse(db, params)
    except az.PageError as exc:
        return error_page(request, str(exc), lang=lang)
    except az.RedirectError as exc:
        return _redirect_error(params, provider, exc)
    if params.get("decision") != "allow":
        return _redirect(req, provider, error="access_denied", error_description="Denied.")
    await az.record_consent(db, req, session)
    return await _issue_code(req, provider, session)


async def _issue_code(
    req: az.AuthorizationRequest, provider: Provider, session: Session
) -> Response:
    code = await provider.grants.issue_code(
        CodeGrant(
            client_id=req.client.client_id,
            redirect_uri=req.redirect_uri,
            scope=req.scope,
            code_challenge=req.code_challenge,
            nonce=req.nonce,
            account_id=str(session.account_id),
            session_id=session.id,
            auth_time=int(_ts(session.auth_time)),
            amr=list(session.amr),
        )
    )
    return _redirect(req, provider, code=code)


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _redirect(req: az.AuthorizationRequest, provider: Provider, **params: str | None) -> Response:
    return _see_other(az.redirect_to_client(req, provider.issuer.issuer, **params))


def _redirect_error(params: dict[str, str], provider: Provider, exc: az.RedirectError) -> Response:
    """The client and redirect URI were checked (parse raises RedirectError only after)."""
    query = {
        "error": exc.error,
        "error_description": exc.description,
        "iss": provider.issuer.issuer,
    }
    if "state" in params:
        query["state"] = params["state"]
    uri = params["redirect_uri"]
    return _see_other(uri + ("&" if "?" in uri else "?") + urlencode(query))
