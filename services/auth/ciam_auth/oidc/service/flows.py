"""The token endpoint's grants, introspection and revocation: the use cases behind them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ciam_auth.models import Account, OAuthClient
from ciam_auth.oidc import policy, tokens
from ciam_auth.oidc.errors import OAuthError, invalid_grant, invalid_request
from ciam_auth.oidc.provider import Provider
from ciam_auth.oidc.repository import accounts, rotation
from ciam_auth.oidc.repository import clients as clients_repository
from ciam_auth.oidc.repository import tokens as repository
from ciam_auth.transactions import CommitThenRefuse
from ciam_shared.tokens.scopes import FIRST_PARTY_CLIENT

log = logging.getLogger(__name__)
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
# Replicas' clocks differ a little: a token a second older than its client's row is still its.
REREGISTRATION_LEEWAY_S = 5


def _pkce_ok(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


def _revoke_in_grants(provider: Provider, family: uuid.UUID) -> Callable[[], Awaitable[None]]:
    """After the database's revocation commits: the family's access tokens are refused too."""

    async def revoke() -> None:
        await provider.grants.revoke_family(family, provider.settings.refresh_token_ttl_s)

    return revoke


def _granted(client: OAuthClient, grant: str) -> None:
    if grant not in client.grant_types:
        raise OAuthError("unauthorized_client", f"This client may not use the {grant} grant.")


async def authorization_code(
    db: AsyncSession, provider: Provider, client: OAuthClient, form: dict[str, str]
) -> tokens.Issued:
    _granted(client, "authorization_code")
    code, verifier = form.get("code"), form.get("code_verifier")
    if not code:
        raise invalid_request("code is required.")
    if not verifier or not VERIFIER.match(verifier):
        raise invalid_request("A PKCE code_verifier (43-128 characters) is required.")
    grant = await provider.grants.take_code(code)
    if grant is None:
        refused = invalid_grant("The code is invalid, expired or already used.")
        family = await provider.grants.family_of_redeemed(code)
        if family is not None:
            # Redeemed twice: the code leaked. Revoke what it issued (RFC 6749 4.1.2).
            log.warning(
                "authorization code reused: revoking its tokens", extra={"client": client.client_id}
            )
            await repository.revoke_family(db, family)
            raise CommitThenRefuse(refused, after_commit=_revoke_in_grants(provider, family))
        raise refused
    if grant.client_id != client.client_id:
        raise invalid_grant("The code was issued to another client.")
    if form.get("redirect_uri") != grant.redirect_uri:
        raise invalid_grant("redirect_uri differs from the authorization request's.")
    if not _pkce_ok(verifier, grant.code_challenge):
        raise invalid_grant("The code_verifier does not match the code_challenge.")
    if policy.admin_scopes(grant.scope.split()):
        # /authorize refuses them; a code from before that rule still lives a minute.
        raise invalid_grant("Admin scopes are never issued for a customer.")
    account = await accounts.account(db, uuid.UUID(grant.account_id))
    if account is None:
        raise invalid_grant("The account no longer exists.")
    family = uuid.uuid4()
    await provider.grants.remember_redeemed(code, family)
    auth_time = datetime.fromtimestamp(grant.auth_time, tz=UTC)
    return await _issue_for_account(
        db,
        provider,
        client,
        account,
        grant.scope,
        family,
        session_id=grant.session_id,
        auth_time=auth_time,
        nonce=grant.nonce,
        amr=grant.amr,
    )


async def refresh(
    db: AsyncSession, provider: Provider, client: OAuthClient, form: dict[str, str]
) -> tokens.Issued:
    _granted(client, "refresh_token")
    token = form.get("refresh_token")
    if not token:
        raise invalid_request("refresh_token is required.")
    requested = form.get("scope")
    narrow = requested.split() if requested else []
    # One statement spends the token and stores its successor, committed at once (see
    # rotation.py); nothing else here writes to the database, so there is nothing to undo.
    rotated = await rotation.rotate(
        provider.autocommit,
        token,
        client_id=client.client_id,
        narrow=narrow,
        ttl_s=provider.settings.refresh_token_ttl_s,
    )
    if rotated is None:
        refused = invalid_grant("The refresh token is invalid, expired, revoked or already used.")
        await _refused_refresh(db, provider, client, token, narrow, refused)
        raise refused
    if policy.admin_scopes(rotated.scope.split()):
        await _end_admin_grant(db, provider, client, rotated.family_id)
    scope = " ".join(narrow) if narrow else rotated.scope
    scopes = scope.split()
    issued = _sign_for_account(
        provider,
        client,
        rotated.account_id,
        scope,
        rotated.family_id,
        session_id=rotated.session_id,
        auth_time=rotated.auth_time,
        nonce=None,
        amr=[],
        extra=email_claims(rotated.email, rotated.email_verified, scopes),
    )
    return tokens.Issued(
        issued.access_token,
        issued.jti,
        issued.expires_in,
        scope,
        issued.id_token,
        rotated.refresh_token,
    )


async def _end_admin_grant(
    db: AsyncSession, provider: Provider, client: OAuthClient, family: uuid.UUID
) -> NoReturn:
    """A customer's grant with an admin scope, issued before the authorization code grant
    refused them: it is revoked whole (the successor the rotation stored, and the family's
    access tokens), never refreshed."""
    log.warning("grant with an admin scope refreshed: revoked", extra={"client": client.client_id})
    await repository.revoke_family(db, family)
    raise CommitThenRefuse(
        invalid_grant("This grant carries an admin scope, never issued for a customer: revoked."),
        after_commit=_revoke_in_grants(provider, family),
    )


async def _refused_refresh(
    db: AsyncSession,
    provider: Provider,
    client: OAuthClient,
    token: str,
    narrow: list[str],
    refused: OAuthError,
) -> None:
    """Why the rotation matched nothing: a spent token presented again revokes its family
    (committed, then `refused`); a live one asked for a wider scope is invalid_scope; anything
    else returns, and the caller answers `refused` (invalid_grant)."""
    known = await repository.find_refresh_token(db, token)
    if known is None or known.client_id != client.client_id:
        return
    if known.used_at is not None:
        # Reuse of a rotated token: one of the two holders is an attacker (RFC 9700 4.14.2).
        log.warning("refresh token reused: revoking the family", extra={"client": client.client_id})
        await repository.revoke_family(db, known.family_id)
        raise CommitThenRefuse(refused, after_commit=_revoke_in_grants(provider, known.family_id))
    if known.revoked_at is None and not set(narrow) <= set(known.scope.split()):
        raise OAuthError("invalid_scope", "A refresh cannot widen the scope.")


async def client_credentials(
    provider: Provider, client: OAuthClient, form: dict[str, str]
) -> tokens.Issued:
    _granted(client, "client_credentials")
    # An app's own token carries API scopes only: there is no customer for openid, email or
    # the customer scopes; and admin scopes go to operator clients only (policy.py).
    api_scopes = policy.client_credentials_scopes(client)
    requested = form.get("scope")
    scopes = requested.split() if requested else api_scopes
    if customer := policy.customer_scopes(scopes):
        raise OAuthError(
            "invalid_scope",
            f"Customer scopes name no customer here: {' '.join(customer)} "
            "(they come with the authorization code grant).",
        )
    if unknown := [s for s in scopes if s not in api_scopes]:
        if (admin := policy.admin_scopes(unknown)) and set(admin) <= set(client.scopes):
            raise OAuthError(
                "invalid_scope",
                f"{' '.join(admin)}: admin scopes go to an operator client only, one "
                "without redirect URIs and the authorization code grant.",
            )
        raise OAuthError("invalid_scope", f"Not allowed for this client: {' '.join(unknown)}.")
    scope = " ".join(dict.fromkeys(s for s in scopes if s in api_scopes))
    access, jti = provider.issuer.access_token(
        sub=client.client_id, client_id=client.client_id, scope=scope, brand=client.brand
    )
    return tokens.Issued(access, jti, provider.issuer.access_ttl_s, scope)


async def _issue_for_account(
    db: AsyncSession,
    provider: Provider,
    client: OAuthClient,
    account: Account,
    scope: str,
    family: uuid.UUID,
    *,
    session_id: str | None,
    auth_time: datetime,
    nonce: str | None,
    amr: list[str],
) -> tokens.Issued:
    """The tokens of a new grant (an authorization code redeemed): a new family."""
    scopes = scope.split()
    issued = _sign_for_account(
        provider,
        client,
        account.id,
        scope,
        family,
        session_id=session_id,
        auth_time=auth_time,
        nonce=nonce,
        amr=amr,
        extra=user_claims(account, scopes),
    )
    refresh_token = None
    if "refresh_token" in client.grant_types:
        refresh_token = await repository.new_refresh_token(
            db,
            family_id=family,
            client_id=client.client_id,
            account_id=account.id,
            # offline_access outlives the browser session; otherwise logout ends the token.
            session_id=None if "offline_access" in scopes else session_id,
            scope=scope,
            auth_time=auth_time,
            ttl_s=provider.settings.refresh_token_ttl_s,
        )
    return tokens.Issued(
        issued.access_token, issued.jti, issued.expires_in, scope, issued.id_token, refresh_token
    )


def _sign_for_account(
    provider: Provider,
    client: OAuthClient,
    account_id: uuid.UUID,
    scope: str,
    family: uuid.UUID,
    *,
    session_id: str | None,
    auth_time: datetime,
    nonce: str | None,
    amr: list[str],
    extra: dict[str, Any],
) -> tokens.Issued:
    """The access token (its jti names the family: revoking the family revokes it), and the
    ID token when the scope has openid; no refresh token."""
    issuer = provider.issuer
    stamp = int(auth_time.timestamp())
    access, jti = issuer.access_token(
        sub=str(account_id),
        client_id=client.client_id,
        scope=scope,
        brand=client.brand,
        auth_time=stamp,
        sid=session_id,
        family=family,
    )
    id_token = None
    if "openid" in scope.split():
        id_token = issuer.id_token(
            sub=str(account_id),
            client_id=client.client_id,
            auth_time=stamp,
            nonce=nonce,
            amr=amr or ["pwd"],
            sid=session_id,
            access_token=access,
            extra=extra,
        )
    return tokens.Issued(access, jti, issuer.access_ttl_s, scope, id_token)


def user_claims(account: Account, scopes: list[str]) -> dict[str, Any]:
    return email_claims(account.email, account.email_verified_at is not None, scopes)


def email_claims(email: str | None, verified: bool, scopes: list[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if "email" in scopes and email is not None:
        claims["email"] = email
        claims["email_verified"] = verified
    return claims


async def introspect(
    db: AsyncSession, provider: Provider, client: OAuthClient, token: str
) -> dict[str, Any]:
    """RFC 7662. Any confidential client may introspect an access token (resource servers do);
    a refresh token only by the client it was issued to."""
    if token.startswith("rt_"):
        row = await repository.find_refresh_token(db, token)
        now = time.time()
        if (
            row is None
            or row.client_id != client.client_id
            or row.used_at is not None
            or row.revoked_at is not None
            or row.expires_at.timestamp() <= now
        ):
            return {"active": False}
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": row.client_id,
            "sub": str(row.account_id),
            "scope": row.scope,
            "exp": int(row.expires_at.timestamp()),
            "iat": int(row.issued_at.timestamp()),
            "iss": provider.issuer.issuer,
        }
    try:
        claims = provider.issuer.verify_own(token, typ=tokens.ACCESS_TYP)
    except ValueError:
        return {"active": False}
    if await provider.grants.access_token_revoked(str(claims.get("jti"))):
        return {"active": False}
    if not await client_alive_now(provider.autocommit, claims):
        return {"active": False}
    return {"active": True, "token_type": "Bearer"} | {
        k: claims[k]
        for k in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "brand")
        if k in claims
    }


async def userinfo(
    db: AsyncSession, account_id: uuid.UUID, claims: dict[str, Any]
) -> dict[str, Any] | None:
    """The userinfo answer for a verified access token with the openid scope; None when its
    account or its client is gone."""
    account = await accounts.account(db, account_id)
    alive = await client_alive(db, claims)
    if account is None or not alive:
        return None
    body: dict[str, Any] = {"sub": str(account.id)}
    return body | user_claims(account, str(claims.get("scope", "")).split())


async def client_alive(db: AsyncSession, claims: dict[str, Any]) -> bool:
    """Whether the client a token was issued to still exists: a deleted app's tokens, its own
    and its customers', stop at once (and stay stopped if its id were registered again: the
    token must be younger than the registration). Read from the database, not the 5 s client
    cache, so every replica agrees at once. Auth's own pages' tokens name no stored client."""
    client_id = claims.get("client_id")
    if client_id == FIRST_PARTY_CLIENT:
        return True
    if not isinstance(client_id, str):
        return False
    client = await clients_repository.client(db, client_id)
    return _issued_after(claims, client.created_at if client is not None else None)


async def client_alive_now(autocommit: AsyncEngine, claims: dict[str, Any]) -> bool:
    """`client_alive` in one statement on an autocommit connection: introspection's path,
    where a transaction (BEGIN, the ORM's read, COMMIT) was a large part of its CPU."""
    client_id = claims.get("client_id")
    if client_id == FIRST_PARTY_CLIENT:
        return True
    if not isinstance(client_id, str):
        return False
    return _issued_after(claims, await clients_repository.registered_at(autocommit, client_id))


def _issued_after(claims: dict[str, Any], registered: datetime | None) -> bool:
    issued_at = claims.get("iat")
    return (
        registered is not None
        and isinstance(issued_at, int)
        and issued_at >= registered.timestamp() - REREGISTRATION_LEEWAY_S
    )


async def revoke(db: AsyncSession, provider: Provider, client: OAuthClient, token: str) -> None:
    """RFC 7009: revoking a refresh token revokes its family and the access tokens issued with
    it; an unknown or foreign token is answered the same way (200) and changes nothing."""
    if token.startswith("rt_"):
        row = await repository.find_refresh_token(db, token)
        if row is not None and row.client_id == client.client_id:
            await repository.revoke_family(db, row.family_id)
            await provider.grants.revoke_family(
                row.family_id, provider.settings.refresh_token_ttl_s
            )
        return
    try:
        claims = provider.issuer.verify_own(token, typ=tokens.ACCESS_TYP)
    except ValueError:
        return
    if claims.get("client_id") == client.client_id:
        await provider.grants.revoke_access_token(
            str(claims["jti"]), int(claims["exp"] - time.time())
        )
