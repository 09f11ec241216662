"""What the privacy pages share: the consent repository with the page's customer token, the
way back to sign-in, labels with a fallback, and the brand app a page was opened for
(`?client_id=`, theming.py)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import httpx
from fastapi import Request, Response, status
from fastapi.responses import RedirectResponse

from ciam_auth.context import AuthContext
from ciam_auth.embedding import embedding_of
from ciam_auth.i18n import MESSAGES, text
from ciam_auth.oidc.service.first_party import customer_token
from ciam_auth.pages import render
from ciam_auth.parts import parts_of
from ciam_auth.privacy.optin import OptInLedger
from ciam_auth.privacy.repository import ConsentRepository
from ciam_auth.sessions.store import Session
from ciam_auth.theming import brand_of, framed, keep
from ciam_auth.web import locale_of

PATH = "/privacy"


def labeller(locale: str) -> Callable[[str, str], str]:
    """The message `prefix + value`, or the value itself: a data kind, basis or method the
    consent service adds later shows as its code rather than failing the page."""

    def label(prefix: str, value: str) -> str:
        key = prefix + value
        return text(locale, key) if key in MESSAGES["en"] else value

    return label


def to_login(path: str = PATH, request: Request | None = None) -> Response:
    """Sign-in first. A page framed by a brand app that registered origins offers the sign-in
    in the frame (`embedding.py`: a partitioned session for this app), or in a new window; a
    frame of an app without origins (same-site framing only) offers the new window."""
    if request is not None and brand_of(request) is not None:
        path = keep(request, path)
        if framed(request):
            locale = locale_of(request)
            return_to = quote(path, safe="/")
            return render(
                request,
                parts_of(request).context,
                "privacy_signin.html",
                locale=locale,
                title_key="privacy_signin_title",
                status_code=401,
                login_url=f"/login?return_to={return_to}",
                frame_login_url=keep(request, f"/login?return_to={return_to}")
                if embedding_of(request) is not None
                else None,
                again_url=path,
            )
    return RedirectResponse(
        f"/login?return_to={quote(path, safe='/')}", status_code=status.HTTP_303_SEE_OTHER
    )


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
