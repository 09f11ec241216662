"""What the privacy pages share: the consent repository with the page's customer token, the
way back to sign-in, labels with a fallback, and the CSP of the pages that run privacy.js."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import Request, Response, status
from fastapi.responses import RedirectResponse

from ciam_auth.context import AuthContext
from ciam_auth.i18n import MESSAGES, text
from ciam_auth.oidc.service.first_party import customer_token
from ciam_auth.parts import parts_of
from ciam_auth.privacy.optin import OptInLedger
from ciam_auth.privacy.repository import ConsentRepository
from ciam_auth.sessions.store import Session

PATH = "/privacy"
# Well under a browser's patience; the page then says the consent service is not available.
TIMEOUT_S = 5.0


def labeller(locale: str) -> Callable[[str, str], str]:
    """The message `prefix + value`, or the value itself: a data kind, basis or method the
    consent service adds later shows as its code rather than failing the page."""

    def label(prefix: str, value: str) -> str:
        key = prefix + value
        return text(locale, key) if key in MESSAGES["en"] else value

    return label


def to_login(path: str = PATH) -> Response:
    return RedirectResponse(f"/login?return_to={path}", status_code=status.HTTP_303_SEE_OTHER)


def gpc_of(request: Request) -> bool:
    """Only `Sec-GPC: 1` counts, as at the consent service."""
    return request.headers.get("sec-gpc", "").strip() == "1"


def repository(
    request: Request,
    ctx: AuthContext,
    current: Session,
    http: httpx.AsyncClient,
    scopes: list[str],
) -> ConsentRepository:
    token = customer_token(
        parts_of(request).provider.issuer, current.account_id, scopes, session_id=current.id
    )
    return ConsentRepository(ctx.settings.consent_url, http, token, gpc=gpc_of(request))


def ledger(ctx: AuthContext) -> OptInLedger:
    return OptInLedger(ctx.redis, ctx.redis_prefix)
