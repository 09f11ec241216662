"""Customer tokens for auth's own pages (the account pages, the privacy pages).

A page of auth that calls the consent or profile API for the signed-in customer does it with a
customer token it signs itself: `sub` is the account, `client_id` is `FIRST_PARTY_CLIENT`, the
scope is the customer scopes the call needs. Auth is the issuer, so no grant round trip to
itself; the token lives a minute (one page's calls), names no refresh token family and is never
given to the browser. The resource services let `FIRST_PARTY_CLIENT` act on every purpose and
brand of its customer (docs/security.md).

Not for an app acting for itself: the social consent recorder's token (`sub` == `client_id` ==
`ciam-auth`, an app scope) is minted in social/runtime.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from ciam_auth.oidc.tokens import TokenIssuer
from ciam_shared.tokens.scopes import CUSTOMER_SCOPES, FIRST_PARTY_CLIENT

TTL_S = 60


def customer_token(
    issuer: TokenIssuer,
    account_id: uuid.UUID,
    scopes: Iterable[str],
    *,
    session_id: str | None = None,
    ttl_s: int = TTL_S,
) -> str:
    """A short-lived access token for calling the platform's APIs on the customer's behalf.
    Customer scopes only: ValueError for any other scope (an admin or app scope is never
    the customer's) and for no scope. It lives `ttl_s`, at most as long as any access token."""
    wanted = sorted(set(scopes))
    if not wanted:
        raise ValueError("name the customer scopes the call needs")
    if other := [s for s in wanted if s not in CUSTOMER_SCOPES]:
        raise ValueError(f"not customer scopes: {' '.join(other)}")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    token, _ = issuer.access_token(
        sub=str(account_id),
        client_id=FIRST_PARTY_CLIENT,
        scope=" ".join(wanted),
        sid=session_id,
        ttl_s=min(ttl_s, issuer.access_ttl_s),
    )
    return token
