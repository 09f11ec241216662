"""The authorization request (OIDC Core 3.1.2, RFC 7636, RFC 9207, RFC 9700).

Two kinds of error: before the client and its redirect URI are known to be genuine the
customer sees an error page (never a redirect to an unchecked URI); after that, errors go back
to the client's redirect URI with `state` and `iss`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import ClientGrant, OAuthClient
from ciam_auth.oidc import policy
from ciam_auth.oidc.acr import PHISHING_RESISTANT, acr_of
from ciam_auth.oidc.repository import clients as repository
from ciam_auth.sessions.store import Session
from ciam_shared.db import utcnow

CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256, no padding
PROMPTS = {"none", "login", "consent"}


class PageError(Exception):
    """Shown to the customer: the request cannot safely go back to the client."""


class RedirectError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    client: OAuthClient
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: set[str]
    max_age: int | None
    ui_locales: str | None
    # acr_values: `phr` asks for phishing-resistant authentication (a passkey), enforced.
    acr_values: tuple[str, ...] = ()

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()


async def parse(session: AsyncSession, params: dict[str, str]) -> AuthorizationRequest:
    client_id = params.get("client_id", "")
    client = await repository.client(session, client_id) if client_id else None
    if client is None:
        raise PageError("unknown_client")
    redirect_uri = params.get("redirect_uri", "")
    # Exact string match (RFC 9700 2.1): no prefix, case, port, slash or query leeway.
    if redirect_uri not in client.redirect_uris:
        raise PageError("bad_redirect_uri")
    if "authorization_code" not in client.grant_types:
        raise PageError("unauthorized_client")

    def fail(error: str, description: str) -> RedirectError:
        return RedirectError(error, description)

    if "request" in params or "request_uri" in params:
        raise fail("request_not_supported", "Request objects are not supported.")
    if params.get("response_type") != "code":
        raise fail("unsupported_response_type", "Only the code flow is offered (no implicit).")
    if params.get("response_mode", "query") != "query":
        raise fail("invalid_request", "Only response_mode=query is offered.")
    challenge = params.get("code_challenge")
    if not challenge:
        raise fail("invalid_request", "PKCE is required: send code_challenge (S256).")
    if params.get("code_challenge_method") != "S256":
        raise fail("invalid_request", "Only code_challenge_method=S256 is accepted.")
    if not CHALLENGE.match(challenge):
        raise fail("invalid_request", "code_challenge is not a base64url SHA-256.")
    scopes = params.get("scope", "").split()
    if "openid" not in scopes:
        raise fail("invalid_scope", "The openid scope is required.")
    # Whatever the registration says (a row from before the rule): an admin scope is never
    # issued for a customer, so it is never asked for on a consent screen either.
    if admin := policy.admin_scopes(scopes):
        raise fail("invalid_scope", f"Admin scopes are never issued here: {' '.join(admin)}.")
    allowed = set(client.scopes) | {"openid"}
    if unknown := [s for s in scopes if s not in allowed]:
        raise fail("invalid_scope", f"Not allowed for this client: {' '.join(unknown)}.")
    prompt = set(params.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise fail("invalid_request", "Unsupported prompt value.")
    max_age: int | None = None
    if "max_age" in params:
        try:
            max_age = int(params["max_age"])
        except ValueError:
            raise fail("invalid_request", "max_age must be a number of seconds.") from None
        if max_age < 0:
            raise fail("invalid_request", "max_age must not be negative.")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scope=" ".join(dict.fromkeys(scopes)),
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=challenge,
        prompt=prompt,
        max_age=max_age,
        ui_locales=params.get("ui_locales"),
        acr_values=tuple(params.get("acr_values", "").split()[:10]),
    )


def needs_login(request: AuthorizationRequest, session: Session | None) -> bool:
    if session is None or "login" in request.prompt:
        return True
    if needs_phishing_resistant(request, session):
        return True
    if request.max_age is not None:
        return time.time() - session.auth_time.timestamp() > request.max_age
    return False


def needs_phishing_resistant(request: AuthorizationRequest, session: Session | None) -> bool:
    """The app asked for `phr` (acr_values) and the session was not signed in with a passkey."""
    return PHISHING_RESISTANT in request.acr_values and (
        session is None or acr_of(session.amr) != PHISHING_RESISTANT
    )


async def needs_consent(db: AsyncSession, request: AuthorizationRequest, session: Session) -> bool:
    if request.client.first_party and "consent" not in request.prompt:
        return False
    grant = await repository.consent_grant(db, session.account_id, request.client.client_id)
    return (
        grant is None or not set(request.scopes) <= set(grant.scopes) or "consent" in request.prompt
    )


async def record_consent(db: AsyncSession, request: AuthorizationRequest, session: Session) -> None:
    """The customer allowed the client the request's scopes: added to what it allowed before."""
    account_id, client_id = session.account_id, request.client.client_id
    grant = await repository.consent_grant(db, account_id, client_id)
    if grant is None:
        await repository.add_consent_grant(
            db,
            ClientGrant(
                account_id=account_id,
                client_id=client_id,
                scopes=request.scopes,
                granted_at=utcnow(),
            ),
        )
        return
    grant.scopes = sorted(set(grant.scopes) | set(request.scopes))
    grant.granted_at = utcnow()
    await repository.saved(db)


async def post_logout_target_allowed(db: AsyncSession, client_id: str | None, target: str) -> bool:
    """Whether `target` is one of the client's registered post-logout redirect URIs."""
    client = await repository.client(db, client_id) if client_id else None
    return client is not None and target in client.post_logout_redirect_uris


def redirect_to_client(request: AuthorizationRequest, issuer: str, **params: str | None) -> str:
    """The client's redirect URI with the response, `state` and `iss` (RFC 9207)."""
    query = {k: v for k, v in params.items() if v is not None}
    if request.state is not None:
        query["state"] = request.state
    query["iss"] = issuer
    return request.redirect_uri + ("&" if "?" in request.redirect_uri else "?") + urlencode(query)
