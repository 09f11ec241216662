"""Claims a provider returns only at its userinfo endpoint (OIDC Core 5.3, 5.4: without a
`claims` request parameter a provider may keep email and profile claims out of the ID token;
oidc-provider does so by default).

When the ID token lacks the address (scope `email`) or the name (scope `profile`), the
userinfo endpoint is asked with the access token. Its `sub` must be the ID token's (OIDC Core
5.3.2), otherwise its answer is about someone else (a substituted access token) and the
sign-in is refused. Userinfo only fills in what the ID token lacks, and the address comes with
its own `email_verified` (never the address from one source and the verification from the
other)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from ciam_auth.social.idtoken import Identity, TokenRefused
from ciam_auth.social.upstream import Upstream

log = logging.getLogger(__name__)
NAME_CLAIMS = ("name", "given_name", "family_name")
PROFILE_CLAIMS = (*NAME_CLAIMS, "picture", "locale", "birthdate")


def _lacking(identity: Identity, scopes: list[str]) -> bool:
    claims = identity.claims
    no_email = "email" in scopes and "email" not in claims
    no_name = "profile" in scopes and not any(c in claims for c in NAME_CLAIMS)
    return no_email or no_name


async def completed(upstream: Upstream, identity: Identity, tokens: dict[str, Any]) -> Identity:
    """The identity with the claims userinfo adds; the same identity when the ID token has
    them, or the provider has no userinfo endpoint (Apple), or gave no access token."""
    if not _lacking(identity, upstream.config.scopes):
        return identity
    endpoint = (await upstream.metadata()).userinfo_endpoint
    access_token = tokens.get("access_token")
    if endpoint is None or not isinstance(access_token, str) or not access_token:
        return identity
    info = await upstream.userinfo(endpoint, access_token)
    if info.get("sub") != identity.subject:
        reason = "userinfo sub differs from the id token's"
        log.warning("id token refused", extra={"provider": upstream.config.id, "reason": reason})
        raise TokenRefused(reason)
    claims = dict(identity.claims)
    if "email" not in claims and "email" in info:
        claims.pop("email_verified", None)
        claims |= {k: info[k] for k in ("email", "email_verified") if k in info}
    claims |= {k: info[k] for k in PROFILE_CLAIMS if k not in claims and k in info}
    return dataclasses.replace(identity, claims=claims)
