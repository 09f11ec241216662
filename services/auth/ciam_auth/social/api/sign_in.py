"""The browser-facing routes: start a social sign-in, the provider's callback, and the page
where the customer chooses what to import or confirms a link."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from ciam_auth import pages as account_pages
from ciam_auth.accounts.service import accounts
from ciam_auth.parts import AuthRuntime, AuthRuntimeDep, CurrentSessionDep, SocialDep
from ciam_auth.sessions import service as signin
from ciam_auth.sessions.store import Session, set_session_cookie
from ciam_auth.social import fields, mail_offer, service, userinfo
from ciam_auth.social.api import reauth
from ciam_auth.social.api.pages import MESSAGES, error_page, locale, render
from ciam_auth.social.errors import IdentityLinkedElsewhere
from ciam_auth.social.flow import (
    BINDING_COOKIE,
    FLOW_TTL_S,
    PENDING_TTL_S,
    FlowState,
    Pending,
    binding_hash,
    binding_matches,
    new_binding,
    pkce_pair,
    safe_return_to,
)
from ciam_auth.social.idtoken import Identity, TokenRefused, validate
from ciam_auth.social.runtime import Social
from ciam_auth.social.upstream import ProviderUnavailable, Upstream
from ciam_auth.web import client_of
from ciam_shared.db import new_id, unit_of_work

log = logging.getLogger(__name__)
router = APIRouter(tags=["social"])
CurrentSession = CurrentSessionDep
PENDING_COOKIE = "ciam_social_pending"
CONTINUE = "/login/social/continue"


def provider_name(social: Social, provider_id: str) -> str:
    """The provider's label for the pages (its id when it is no longer configured)."""
    upstream = social.upstreams.get(provider_id)
    return upstream.config.name if upstream else provider_id


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


async def _params(request: Request) -> dict[str, str]:
    if request.method == "POST":
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return dict(request.query_params)


# One route per method: each has its own operation id in the OpenAPI document.
@router.get("/login/social/{provider_id}/callback", response_model=None)
@router.post("/login/social/{provider_id}/callback", response_model=None)
async def callback(
    provider_id: str,
    request: Request,
    social: SocialDep,
    runtime: AuthRuntimeDep,
    session: CurrentSession,
) -> Response:
    params = await _params(request)
    lang = locale(request)
    upstream = social.upstreams.get(provider_id)
    if upstream is None:
        return error_page(request, "unknown_provider", lang=lang, status=404)
    name = upstream.config.name
    state = params.get("state")
    flow = await social.flows.take(state) if state else None
    if (
        flow is None
        or flow.provider != provider_id
        or not binding_matches(request.cookies.get(BINDING_COOKIE), flow.binding)
    ):
        log.info("social callback refused", extra={"provider": provider_id, "reason": "state"})
        return error_page(request, "expired", lang=lang, provider=name)
    try:
        identity = await _identity(upstream, params, flow, social)
    except ProviderUnavailable as exc:
        log.warning("provider unavailable", extra={"provider": provider_id, "reason": str(exc)})
        return error_page(request, "unavailable", lang=lang, provider=name, status=502)
    except TokenRefused:  # logged with its reason by the validation
        return error_page(request, "refused", lang=lang, provider=name)
    except _Cancelled:
        return error_page(request, "cancelled", lang=lang, provider=name)
    if flow.mode == "reauth":
        return await reauth.finish(request, runtime, upstream, flow, identity, session, lang)
    stale = reauth.fresh_sign_in(identity.claims, flow.started_at) if flow.fresh else None
    if stale is not None:  # a brand app asked for a fresh sign-in; the provider did not ask
        log.warning("social sign-in refused", extra={"provider": provider_id, "reason": stale})
        return error_page(request, "reauth_stale", lang=lang, provider=name)
    return await _decide(request, runtime, social, upstream, flow, identity, session, lang)


class _Cancelled(Exception):
    pass


async def _identity(
    upstream: Upstream, params: dict[str, str], flow: FlowState, social: Social
) -> Identity:
    metadata = await upstream.metadata()
    # RFC 9207 (mix-up defence): the response names its issuer; it must be the provider we
    # sent the customer to, and a provider that promises `iss` must send it.
    iss = params.get("iss")
    if (iss is not None and iss != metadata.issuer) or (
        iss is None and metadata.iss_parameter_supported
    ):
        reason = "authorization response iss " + ("missing" if iss is None else "mismatch")
        log.warning("id token refused", extra={"provider": flow.provider, "reason": reason})
        raise TokenRefused(reason)
    if "error" in params:
        log.info("social sign-in cancelled", extra={"provider": flow.provider,
                                                     "error": params["error"][:64]})  # fmt: skip
        raise _Cancelled
    code = params.get("code")
    if not code:
        log.warning("id token refused", extra={"provider": flow.provider, "reason": "no code"})
        raise TokenRefused("no code")
    tokens = await upstream.exchange(
        code, verifier=flow.verifier, redirect_uri=social.callback_url(flow.provider)
    )
    identity = await validate(tokens["id_token"], upstream, nonce=flow.nonce)
    identity = await userinfo.completed(upstream, identity, tokens)
    if upstream.config.name_in_user_param:
        identity = fields.with_posted_name(identity, params.get("user"))
    return identity


async def _decide(
    request: Request,
    runtime: AuthRuntime,
    social: Social,
    upstream: Upstream,
    flow: FlowState,
    identity: Identity,
    session: Session | None,
    lang: str,
) -> Response:
    name = upstream.config.name
    offered = fields.offered(identity)
    if not identity.email_verified:
        offered.pop("email", None)  # an address nobody vouched for is not imported
    async with unit_of_work(runtime.sessions) as db:
        known = await service.returning(
            db, identity.issuer, identity.subject, offered=offered,
            topic_prefix=runtime.topic_prefix,
        )  # fmt: skip
        existing = (
            await service.account_for_address(db, identity.email)
            if identity.email and known is None and flow.mode == "signin"
            else None
        )
    if known is not None:
        if flow.mode == "link":
            if str(known.account_id) != flow.account_id:
                return error_page(request, "linked_elsewhere", lang=lang, provider=name,
                                  status=409)  # fmt: skip
            return see_other(flow.return_to)
        return await signed_in_response(request, runtime, social, known.account_id,
                                        flow.return_to, provider=name)  # fmt: skip
    pending = Pending(
        provider=flow.provider,
        issuer=identity.issuer,
        subject=identity.subject,
        email=identity.email,
        email_verified=identity.email_verified,
        offered=offered,
        return_to=flow.return_to,
        mode=flow.mode,
        binding=flow.binding,
        account_id=flow.account_id,
        kind="link" if flow.mode == "link" else "new",
    )
    if existing is not None:
        if not identity.email_verified:
            # Pre-account hijacking: an unverified address never reaches an existing account.
            reason = "unverified email of an existing account"
            log.warning(
                "social sign-in refused", extra={"provider": flow.provider, "reason": reason}
            )
            return error_page(request, "unverified", lang=lang, provider=name, status=409)
        if accounts.unproven_registration(existing):
            # Pre-hijacking: nobody proved this registration's address; the provider did. The
            # customer gets a new account and the registration goes (takeover.py): it is never
            # linked to, so whoever typed its password gets nothing.
            pending = dataclasses.replace(pending, takes_over=True)
        else:
            pending = dataclasses.replace(pending, kind="link", account_id=str(existing.id))
    pending_id = await social.flows.park(pending)
    response = see_other(CONTINUE)
    response.set_cookie(PENDING_COOKIE, pending_id, max_age=PENDING_TTL_S, path="/login/social",
                        httponly=True, secure=social.secure_cookies, samesite="lax")  # fmt: skip
    return response


async def signed_in_response(
    request: Request,
    runtime: AuthRuntime,
    social: Social,
    account_id: uuid.UUID,
    return_to: str,
    *,
    provider: str,
) -> Response:
    """The provider vouched for the identity: that is a first factor, like a password. An
    account with TOTP still gives its code (the same page as after a password), and the
    sign-in is published like any other (`UserSignedIn`, methods `fed`)."""
    ctx = runtime.parts.context
    # RFC 8176 has no value for a federated sign-in; "fed" is the common one.
    async with unit_of_work(runtime.sessions) as db:
        account = await service.account_of(db, account_id)
        if account is None:  # deleted between the callback and now
            return error_page(request, "expired", lang=locale(request), provider=provider)
        if account.totp_enabled:
            mfa_token = await signin.pending_second_step(ctx, account.id, first_factor="fed")
            created = None
        else:
            created = await signin.start_session(
                db, ctx, account, client_of(request, "web"), ["fed"]
            )
    if created is None:
        response: Response = account_pages.render(
            request, ctx, "login_totp.html", locale=locale(request), title_key="totp_title",
            mfa_token=mfa_token, return_to=return_to,
        )  # fmt: skip
    else:
        response = see_other(return_to)
        set_session_cookie(
            response,
            created,
            secure=social.secure_cookies,
            max_age=runtime.parts.sessions.absolute_seconds,
        )
    response.delete_cookie(PENDING_COOKIE, path="/login/social")
    return response


def pending_csrf(request: Request, pending_id: str) -> str:
    binding = request.cookies.get(BINDING_COOKIE, "")
    return hmac.new(binding.encode(), pending_id.encode(), hashlib.sha256).hexdigest()


async def current_pending(request: Request, social: Social) -> tuple[str, Pending] | None:
    pending_id = request.cookies.get(PENDING_COOKIE)
    pending = await social.flows.pending(pending_id) if pending_id else None
    if pending_id is None or pending is None:
        return None
    if not binding_matches(request.cookies.get(BINDING_COOKIE), pending.binding):
        return None
    return pending_id, pending


@router.get(CONTINUE, response_model=None)
async def continue_page(
    request: Request, social: SocialDep, runtime: AuthRuntimeDep, session: CurrentSession
) -> Response:
    lang = locale(request)
    found = await current_pending(request, social)
    if found is None:
        return error_page(request, "expired", lang=lang)
    pending_id, pending = found
    name = provider_name(social, pending.provider)
    t = MESSAGES[lang]
    common: dict[str, Any] = {"provider": name, "fields": list(pending.offered),
              "csrf_token": pending_csrf(request, pending_id)}  # fmt: skip
    if pending.kind == "new":
        notice = (
            t["takeover_notice"].replace("{email}", pending.email or "")
            if pending.takes_over
            else None
        )
        return render(request, "social_continue.html", lang=lang, title=t["import_title"],
                      intro=t["import_intro"].replace("{provider}", name), button=t["continue"],
                      notice=notice, **common)  # fmt: skip
    if session is None or str(session.account_id) != pending.account_id:
        if session is not None:
            message, sign_in = t["link_other_account"], None
        else:
            message = (
                t["link_prove"].replace("{provider}", name).replace("{email}", pending.email or "")
            )
            sign_in = "/login?" + urlencode({"return_to": CONTINUE})
        # Or the proof by a link mailed to the account (mail_link.py), while signed out.
        offer_mail = session is None and await mail_offer.offered(runtime, pending)
        return render(request, "social_prove.html", lang=lang, provider=name,
                      message=message, sign_in_url=sign_in, email=pending.email,
                      mail_url=mail_offer.SEND if offer_mail else None,
                      csrf_token=common["csrf_token"])  # fmt: skip
    return render(request, "social_continue.html", lang=lang,
                  title=t["link_title"].replace("{provider}", name),
                  intro=t["link_intro"].replace("{provider}", name), button=t["link_button"],
                  **common)  # fmt: skip


async def pending_form(
    request: Request, social: Social, lang: str
) -> tuple[FormData, str, Pending] | Response:
    """The posted form of a page about this browser's pending decision, its CSRF token
    checked; an error page when the decision expired or the token does not match."""
    form = await request.form()
    found = await current_pending(request, social)
    if found is None:
        return error_page(request, "expired", lang=lang)
    pending_id, pending = found
    if not hmac.compare_digest(str(form.get("csrf_token", "")), pending_csrf(request, pending_id)):
        return error_page(request, "csrf", lang=lang, status=403,
                          provider=provider_name(social, pending.provider))  # fmt: skip
    return form, pending_id, pending


@router.post(CONTINUE, response_model=None)
async def continue_answer(
    request: Request, social: SocialDep, runtime: AuthRuntimeDep, session: CurrentSession
) -> Response:
    lang = locale(request)
    posted = await pending_form(request, social, lang)
    if isinstance(posted, Response):
        return posted
    form, pending_id, pending = posted
    if form.get("decision") != "accept":
        await social.flows.done(pending_id)
        return see_other("/login")
    if pending.kind == "link" and (
        session is None or str(session.account_id) != pending.account_id
    ):
        return see_other(CONTINUE)  # proof first: the page asks to sign in to the account
    chosen = [str(v) for v in form.getlist("fields")]
    account_id = uuid.UUID(pending.account_id) if pending.kind == "link" else new_id()
    refused = await save_choice(request, social, runtime, pending_id, pending, chosen, account_id)
    if refused is not None:
        return refused
    if pending.kind == "new":
        name = provider_name(social, pending.provider)
        return await signed_in_response(request, runtime, social, account_id, pending.return_to,
                                        provider=name)  # fmt: skip
    response = see_other(pending.return_to)
    response.delete_cookie(PENDING_COOKIE, path="/login/social")
    return response


async def save_choice(
    request: Request,
    social: Social,
    runtime: AuthRuntime,
    pending_id: str,
    pending: Pending,
    chosen_fields: list[str],
    account_id: uuid.UUID,
) -> Response | None:
    """Record the import choice as consents, then create the account or link the identity
    (the pending decision is used up first: a second submit does nothing). None: done."""
    lang, name = locale(request), provider_name(social, pending.provider)
    chosen = [f for f in dict.fromkeys(chosen_fields) if f in pending.offered]
    denied = [f for f in pending.offered if f not in chosen]
    device = request.headers.get("user-agent", "")
    recorded = await social.consents.record(account_id, granted=chosen, denied=denied,
                                            device=device)  # fmt: skip
    if chosen and not recorded:
        log.warning("import skipped: consent not recorded", extra={"provider": pending.provider})
    imported = fields.allowed(pending.offered, chosen) if recorded else {}
    if not await social.flows.done(pending_id):  # a second submit of the same page
        return error_page(request, "expired", lang=lang, provider=name)
    try:
        async with unit_of_work(runtime.sessions) as db:
            if pending.kind == "new":
                await service.create_account(db, runtime.parts.context, pending,
                                             account_id=account_id, imported=imported,
                                             channel="web", locale=lang,
                                             provider_name=name)  # fmt: skip
            else:
                await service.link(db, pending, account_id=account_id, imported=imported,
                                   topic_prefix=runtime.topic_prefix)  # fmt: skip
    except IdentityLinkedElsewhere:
        return error_page(request, "linked_elsewhere", lang=lang, provider=name, status=409)
    return None


# Last: `/login/social/continue` above must not be taken for a provider called "continue".
@router.get("/login/social/{provider_id}", response_model=None)
async def start(
    provider_id: str,
    request: Request,
    social: SocialDep,
    session: CurrentSession,
    return_to: str | None = None,
    intent: str = "signin",
    ui_locales: str | None = None,
    prompt: str | None = None,
) -> Response:
    lang = locale(request, ui_locales)
    upstream = social.upstreams.get(provider_id)
    if upstream is None:
        return error_page(request, "unknown_provider", lang=lang, status=404)
    linking, reauthenticating = intent == "link", intent == "reauth"
    if (linking or reauthenticating) and session is None:
        here = f"/login/social/{provider_id}?" + urlencode({"intent": intent} | (
            {"return_to": return_to} if return_to else {}))  # fmt: skip
        return see_other("/login?" + urlencode({"return_to": here}))
    try:
        metadata = await upstream.metadata()
    except ProviderUnavailable as exc:
        log.warning("provider unavailable", extra={"provider": provider_id, "reason": str(exc)})
        return error_page(request, "unavailable", lang=lang, provider=upstream.config.name,
                          status=502)  # fmt: skip
    binding = request.cookies.get(BINDING_COOKIE) or new_binding()
    verifier, challenge = pkce_pair()
    nonce = secrets.token_urlsafe(24)
    flow = FlowState(
        provider=provider_id,
        nonce=nonce,
        verifier=verifier,
        return_to=safe_return_to(return_to),
        mode="reauth" if reauthenticating else "link" if linking else "signin",
        binding=binding_hash(binding),
        account_id=str(session.account_id) if session and (linking or reauthenticating) else None,
        session_id=session.id if session and reauthenticating else None,
        started_at=time.time(),
        fresh=prompt == "login" and not (linking or reauthenticating),
    )
    state = await social.flows.start(flow)
    config = upstream.config
    query = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": social.callback_url(provider_id),
        "scope": " ".join(config.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if config.response_mode == "form_post":
        query["response_mode"] = "form_post"
    if ui_locales:
        query["ui_locales"] = ui_locales
    if reauthenticating or flow.fresh:
        # OIDC Core 3.1.2.1: the provider must ask the customer again (prompt=login) and
        # report when they last signed in (max_age makes auth_time a required claim).
        query |= {"prompt": "login", "max_age": "0"}
    endpoint = metadata.authorization_endpoint
    response = see_other(endpoint + ("&" if "?" in endpoint else "?") + urlencode(query))
    # A form_post callback is a cross-site POST: only a SameSite=None cookie comes with it.
    cross_site = config.response_mode == "form_post" and social.secure_cookies
    response.set_cookie(
        BINDING_COOKIE, binding, max_age=FLOW_TTL_S, path="/login/social", httponly=True,
        secure=social.secure_cookies, samesite="none" if cross_site else "lax",
    )  # fmt: skip
    return response
