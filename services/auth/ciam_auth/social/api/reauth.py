"""Re-authentication through a linked identity: the signed-in customer signs in again at a
provider (we sent `prompt=login` and `max_age=0`), and the session is stamped as
re-authenticated (`SessionStore.reauthenticated(step_up=True)`).

What a password-less account's sensitive changes then accept is decided in
`ciam_auth.sessions.service.reauthenticate`; here only the proof is checked:

- the flow was started from this very session (the session id is in the flow state, which
  is bound to the browser);
- the ID token is valid (`idtoken.validate`, as for any sign-in) and carries `auth_time` no
  earlier than the moment we sent the customer to the provider (less a small clock skew): a
  provider that ignored `prompt=login` and answered from its own older session is refused;
- the identity `(issuer, subject)` is linked to the signed-in account. Any other identity
  (unknown, or another account's) is refused and nothing is linked or written.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from ciam_auth.parts import AuthRuntime
from ciam_auth.sessions.store import Session
from ciam_auth.social import service
from ciam_auth.social.api.pages import error_page
from ciam_auth.social.flow import FlowState
from ciam_auth.social.idtoken import Identity
from ciam_auth.social.upstream import Upstream
from ciam_shared.db import unit_of_work

log = logging.getLogger(__name__)
# The provider's clock and ours may differ a little; more than this and `auth_time` is older
# than the request that asked for a fresh sign-in.
CLOCK_SKEW_S = 30.0
AMR = ["fed"]  # RFC 8176 has no value for a federated sign-in; "fed" is the common one


def fresh_sign_in(claims: dict[str, object], started_at: float) -> str | None:
    """Why the upstream sign-in is not fresh, or None when it is."""
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        return "auth_time missing"
    if auth_time < started_at - CLOCK_SKEW_S:
        return "auth_time before the re-authentication started"
    return None


async def finish(
    request: Request,
    runtime: AuthRuntime,
    upstream: Upstream,
    flow: FlowState,
    identity: Identity,
    session: Session | None,
    lang: str,
) -> Response:
    name, provider = upstream.config.name, upstream.config.id
    if session is None or session.id != flow.session_id:
        # Signed out (or in as someone else) while at the provider: nothing to stamp.
        log.info("re-authentication refused", extra={"provider": provider, "reason": "session"})
        return error_page(request, "expired", lang=lang, provider=name)
    stale = fresh_sign_in(identity.claims, flow.started_at)
    if stale is not None:
        log.warning("re-authentication refused", extra={"provider": provider, "reason": stale})
        return error_page(request, "reauth_stale", lang=lang, provider=name)
    async with unit_of_work(runtime.sessions) as db:
        linked = await service.linked_identity(db, identity.issuer, identity.subject)
    if linked is None or str(linked.account_id) != flow.account_id:
        reason = "identity not linked" if linked is None else "identity of another account"
        log.warning("re-authentication refused", extra={"provider": provider, "reason": reason})
        return error_page(request, "reauth_other", lang=lang, provider=name, status=403)
    if await runtime.parts.sessions.reauthenticated(session.id, AMR, step_up=True) is None:
        return error_page(request, "expired", lang=lang, provider=name)
    return RedirectResponse(flow.return_to, status_code=303, headers={"Cache-Control": "no-store"})
