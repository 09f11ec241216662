"""The HTTP edge's helpers: who the client is, its language, CSRF, the signed-in session."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response

from ciam_auth.errors import CsrfFailed, NotSignedIn
from ciam_auth.i18n import choose_locale
from ciam_auth.service.signin import Client
from ciam_auth.sessions import Session, current_session

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


def csrf_token(request: Request, response: Response, *, secure: bool) -> str:
    """Double-submit token: a random cookie value repeated in each form's hidden field. A
    cross-site page can make the browser send the cookie but cannot read it to fill the form."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) != 43:
        token = secrets.token_urlsafe(32)
        response.set_cookie(
            CSRF_COOKIE, token, path="/", httponly=True, samesite="lax", secure=secure
        )
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise CsrfFailed("The form expired. Load the page again.")


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
