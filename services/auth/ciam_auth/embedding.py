"""A signed-in session inside a brand app's frame on another site (CHIPS).

A browser sends no `SameSite=Lax` cookie to a cross-site frame, and blocks third-party cookies
more and more, so the top-level session (`ciam_session`) never reaches a privacy page framed
by `https://shop.example` when auth is `https://id.example`. A customer who signs in inside
such a frame gets a session of its own, in a partitioned cookie (`__Host-ciam_embed`:
`Secure; HttpOnly; SameSite=None; Partitioned`): the browser keeps it in a jar keyed by the
top-level site (the partition) and sends it only to frames of auth under that same top-level
site. The session records the brand app it was started for (`Session.embed`), and is read
(`embedded_session`) only:

- from the partitioned cookie, never from the top-level one (`parts.current_session` refuses
  an embedded session even if its secret is put there);
- on a page opened for that app (`?client_id=`, the app's registered `embed_origins`), never
  for another app;
- in a frame (`Sec-Fetch-Dest: iframe`) or from that frame's own script (`Sec-Fetch-Dest:
  empty`, `Sec-Fetch-Site: same-origin`), never for a top-level page (`document`) or a
  request without Fetch Metadata.

The cookie is set only by a sign-in posted from auth's own sign-in page (Origin and CSRF
checks, web.py) loaded in a frame of a page opened for the app: that page's CSP
(`frame-ancestors` of the app's origins) lets the browser show it only under those origins.
The top-level site itself is bound by the browser (the partition key); the server cannot see it.

The CSRF cookie has a partitioned twin (`__Host-ciam_embed_csrf`) for the same reason; forms
in the frame post to auth's own origin, so the Origin checks hold as they are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from ciam_auth.parts import current_session, parts_of
from ciam_auth.sessions.store import Session
from ciam_auth.theming import CLIENT_ID, PageBrand, brand_of, framed
from ciam_auth.transactions import transaction

EMBED_SESSION_COOKIE = "__Host-ciam_embed"
EMBED_CSRF_COOKIE = "__Host-ciam_embed_csrf"
# Where a sign-in in a frame lands: it checks the browser kept the cookie (sessions/api).
LANDING = "/login/embedded"


async def page_brand(request: Request, client_id: str | None = None) -> PageBrand | None:
    """The brand app named by `?client_id=` (a router's dependency): its look and frame
    ancestors on `request.state` for `render` and the redirects. An unknown or malformed id
    is auth's own look, as if none was given: the page tells nobody which ids exist."""
    if client_id is None or not CLIENT_ID.match(client_id):
        return None
    parts = parts_of(request)
    async with transaction(parts.context.db) as session:
        client = await parts.provider.clients.get(session, client_id)
        brand = (
            PageBrand.of(client.client_id, client.branding, client.embed_origins or [])
            if client is not None and (client.branding or client.embed_origins)
            else None
        )
    request.state.page_brand = brand
    return brand


def in_frame(request: Request) -> bool:
    """The request comes from a frame: its navigation, or its page's own script (fetch,
    EventSource: no destination, same origin). A top-level page (`document`) or a client that
    sends no Fetch Metadata is not."""
    if framed(request):
        return True
    dest = request.headers.get("sec-fetch-dest", "")
    return dest == "empty" and request.headers.get("sec-fetch-site", "") == "same-origin"


def embedding_of(request: Request) -> PageBrand | None:
    """The brand app this request's page is framed for: opened with its client id, it
    registered origins that may frame it, and the request comes from a frame."""
    brand = brand_of(request)
    if brand is None or not brand.embed_origins or not in_frame(request):
        return None
    return brand


async def embedded_session(request: Request) -> Session | None:
    """The session of the partitioned cookie, if it was started for this page's app and the
    request comes from a frame (module docstring)."""
    brand = embedding_of(request)
    secret = request.cookies.get(EMBED_SESSION_COOKIE)
    if brand is None or not secret or len(secret) > 100:
        return None
    session = await parts_of(request).sessions.get_by_secret(secret)
    if session is None or session.embed != brand.client_id:
        return None
    return session


async def page_session(
    request: Request, _brand: Annotated[PageBrand | None, Depends(page_brand)]
) -> Session | None:
    """A privacy page's customer: the session of this app's frame, else the top-level one
    (a frame on auth's own site gets the `SameSite=Lax` cookie)."""
    return await embedded_session(request) or await current_session(request)


PageSessionDep = Annotated[Session | None, Depends(page_session)]


def partitioned_cookie(response: Response, name: str, value: str, *, max_age: int) -> None:
    """`Set-Cookie` with `Partitioned` (Starlette writes it only on Python 3.14). `__Host-`:
    Secure, path `/`, no Domain, so no sibling subdomain can plant or widen it. Always Secure:
    browsers refuse a partitioned cookie without it; they accept Secure over plain HTTP only
    on `localhost` and loopback addresses (development, the tests); production is HTTPS."""
    response.raw_headers.append(
        (
            b"set-cookie",
            (
                f"{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; "
                "SameSite=None; Partitioned"
            ).encode("latin-1"),
        )
    )


def set_embedded_session(response: Response, session: Session, *, max_age: int) -> None:
    partitioned_cookie(response, EMBED_SESSION_COOKIE, session.secret, max_age=max_age)
