"""The HTTP edge's helpers: who the client is, its language, CSRF, the signed-in session."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from ciam_auth.embedding import (
    EMBED_CSRF_COOKIE,
    EMBED_SESSION_COOKIE,
    embedding_of,
    partitioned_cookie,
)
from ciam_auth.errors import CsrfFailed, NotSignedIn, UnsupportedMediaType
from ciam_auth.i18n import choose_locale
from ciam_auth.parts import current_session, parts_of
from ciam_auth.sessions.service import Client
from ciam_auth.sessions.store import COOKIE as SESSION_COOKIE
from ciam_auth.sessions.store import Session

CSRF_COOKIE = "ciam_csrf"
DEVICE_COOKIE = "ciam_device"
DEVICE_COOKIE_SECONDS = 90 * 24 * 3600
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-httpx", "httpx"),
    ("okhttp", "Android app"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
CHANNEL = re.compile(r"^[a-z][a-z0-9-]{0,29}$")


def device_label(user_agent: str | None) -> str:
    """A coarse label the customer recognises ("Firefox on Linux"), never the raw user agent:
    it is shown in the sessions list and goes into the signed-in event."""
    ua = user_agent or ""
    browser = next((name for needle, name in _BROWSERS if needle in ua), "Unknown browser")
    system = next((name for needle, name in _SYSTEMS if needle in ua), None)
    return f"{browser} on {system}" if system else browser


def client_of(request: Request, channel: str) -> Client:
    # The direct peer. Behind a proxy the service must be told to trust X-Forwarded-For
    # (uvicorn --forwarded-allow-ips), which rewrites request.client.
    address = request.client.host if request.client else "unknown"
    return Client(
        address=address,
        device=device_label(request.headers.get("user-agent")),
        channel=channel if CHANNEL.match(channel) else "web",
        device_token=request.cookies.get(DEVICE_COOKIE),
    )


def set_device_cookie(response: Response, token: str | None, *, secure: bool) -> None:
    """The device cookie exempts this client from the account-wide sign-in delay (throttle.py)."""
    if token:
        response.set_cookie(
            DEVICE_COOKIE,
            token,
            max_age=DEVICE_COOKIE_SECONDS,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure,
        )


def locale_of(request: Request, ui_locales: str | None = None) -> str:
    return choose_locale(
        ui_locales or request.query_params.get("ui_locales"),
        request.headers.get("accept-language"),
    )


def _csrf_key(request: Request) -> bytes:
    # The operator's secret (empty only in development, where the binding still rests on the
    # session cookie, which a forger does not have).
    settings = parts_of(request).context.settings
    kek = settings.key_encryption_secret.get_secret_value()
    return hashlib.sha256(b"ciam-page-csrf:" + kek.encode()).digest()


def _bound_token(request: Request, browser_secret: str) -> str:
    """The form token: an HMAC (server key) of the browser's CSRF cookie and of the session
    cookie the request carries. Signing in (or out) changes the session cookie, so a token
    from before, or from another session, no longer matches; and a cookie planted by someone
    else (a sibling subdomain can set cookies) is no use without the victim's session."""
    session_secret = request.cookies.get(SESSION_COOKIE) or ""
    # A brand app's frame on another site has its own, partitioned session (embedding.py).
    embedded_secret = request.cookies.get(EMBED_SESSION_COOKIE) or ""
    message = b"\x00".join(
        [b"page-csrf", browser_secret.encode(), session_secret.encode(), embedded_secret.encode()]
    )
    digest = hmac.new(_csrf_key(request), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_token(request: Request, response: Response, *, secure: bool) -> str:
    """The token for the forms of the page being rendered: a random cookie (set here if the
    browser has none) bound to the session (`_bound_token`). A cross-site page can make the
    browser send the cookies but can neither read them nor compute the token."""
    name = csrf_cookie_of(request)
    browser_secret = request.cookies.get(name)
    if not browser_secret or len(browser_secret) != 43:
        browser_secret = secrets.token_urlsafe(32)
        if name == EMBED_CSRF_COOKIE:
            # A session cookie's lifetime: a form in the frame stays usable while signed in.
            partitioned_cookie(response, name, browser_secret, max_age=CSRF_EMBED_SECONDS)
        else:
            response.set_cookie(
                name, browser_secret, path="/", httponly=True, samesite="lax", secure=secure
            )
    return _bound_token(request, browser_secret)


CSRF_EMBED_SECONDS = 30 * 24 * 3600


def csrf_cookie_of(request: Request) -> str:
    """A page in a brand app's frame (which may be on another site, where the `SameSite=Lax`
    cookie is neither sent nor stored) keeps its CSRF secret in a partitioned cookie."""
    return EMBED_CSRF_COOKIE if embedding_of(request) is not None else CSRF_COOKIE


def csrf_cookie_missing(request: Request) -> bool:
    """A form post without this browser's CSRF cookie: in a frame, the browser did not keep
    even a partitioned cookie (embedding.py shows the way to a new window instead)."""
    return not request.cookies.get(csrf_cookie_of(request))


def check_csrf(request: Request, submitted: str | None) -> None:
    """A page's form post: from one of our own pages (Origin, Sec-Fetch-Site) and with the
    token of this browser and this session."""
    check_same_origin(request)
    browser_secret = request.cookies.get(csrf_cookie_of(request)) or ""
    if len(browser_secret) != 43 or not submitted or len(submitted) > 100:
        raise CsrfFailed("The form expired. Load the page again.")
    if not hmac.compare_digest(_bound_token(request, browser_secret), submitted):
        raise CsrfFailed("The form expired. Load the page again.")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing request that a browser says comes from another origin.

    `Origin` (sent by browsers on every POST, PUT, PATCH, DELETE) must be this service's
    public origin or the origin the request was addressed to; `null` (a sandboxed frame, a
    data: URL, a cross-origin redirect) is refused. Without `Origin`, `Sec-Fetch-Site` must be
    `same-origin` or `none` (typed by the user); `same-site` is refused too, since a sibling
    subdomain is not us. A client that sends neither (not a browser) is left to the other
    checks (CSRF token, JSON content type).
    """
    origin = request.headers.get("origin")
    if origin is not None:
        settings = parts_of(request).context.settings
        ours = {_origin_of(settings.public_url), _origin_of(str(request.base_url))}
        if origin.strip().lower() not in ours:
            raise CsrfFailed("This request came from another site.")
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.strip().lower() not in ("same-origin", "none"):
        raise CsrfFailed("This request came from another site.")


_JSON = re.compile(r"^application/([a-z0-9.+-]+\+)?json\s*(;.*)?$", re.IGNORECASE)


async def same_origin_json(request: Request) -> None:
    """For the cookie-authenticated JSON API: a state-changing request must come from our own
    origin and, if it names a content type, be JSON. `text/plain` (and form types) are what a
    cross-origin page may send without a CORS preflight; JSON needs one, which we never grant."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    check_same_origin(request)
    content_type = request.headers.get("content-type")
    if content_type is not None and not _JSON.match(content_type.strip()):
        raise UnsupportedMediaType("Send JSON (Content-Type: application/json).")


def safe_return_to(value: str | None) -> str:
    """Only a path on this site: one leading slash, not two (`//evil.example` is another host),
    no backslash (browsers read `/\\evil.example` as `//`), no scheme, no control characters."""
    default = "/account"
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value) or len(value) > 2000:
        return default
    return value


async def signed_in(session: Annotated[Session | None, Depends(current_session)]) -> Session:
    if session is None:
        raise NotSignedIn("Sign in first.")
    return session


SignedInDep = Annotated[Session, Depends(signed_in)]
