"""What a client's brand look and embedding may be (registration.py applies it): a display
name, an https logo, two hex colours that read well together and on auth's white cards
(WCAG AA, 4.5:1), and the origins that may frame the privacy pages. Nothing of the database.

Only these checked values ever reach a page: the style sheet's custom properties are built
from the colours (ciam_auth.theming), never from text an app sent."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
# auth.css draws links and secondary buttons in the brand colour on this card colour.
SURFACE = "#ffffff"
MIN_CONTRAST = 4.5  # WCAG 2.x AA, normal text
LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]"})
MAX_ORIGINS = 10
FIELDS = frozenset({"display_name", "logo_uri", "primary_color", "text_color"})


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """Relative luminance of `#rrggbb` (WCAG 2.x)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _logo_problem(uri: str) -> str | None:
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "branding.logo_uri must be an absolute https URL."
    if parts.scheme != "https" or not parts.hostname:
        return "branding.logo_uri must be an absolute https URL."
    if parts.username or parts.password or parts.fragment:
        return "branding.logo_uri must have no credentials and no fragment."
    if any(ord(c) <= 32 or c in "\"'<>\\" for c in uri):
        return "branding.logo_uri has characters a URL cannot have unescaped."
    return None


def branding_problem(branding: dict[str, str] | None) -> str | None:
    if branding is None:
        return None
    if unknown := sorted(set(branding) - FIELDS):
        return f"branding has unknown fields: {', '.join(unknown)}."
    primary, text = branding.get("primary_color"), branding.get("text_color")
    for name, value in (("primary_color", primary), ("text_color", text)):
        if value is not None and not HEX.match(value):
            return f"branding.{name} must be a colour as #rrggbb."
    if (primary is None) != (text is None):
        return "branding.primary_color and branding.text_color are given together."
    if primary is not None and text is not None:
        if (ratio := contrast(primary, text)) < MIN_CONTRAST:
            return (
                f"branding.text_color on branding.primary_color has a contrast of {ratio:.2f}:1;"
                f" WCAG AA needs {MIN_CONTRAST}:1."
            )
        if (ratio := contrast(primary, SURFACE)) < MIN_CONTRAST:
            return (
                f"branding.primary_color on the white page has a contrast of {ratio:.2f}:1"
                f" (links and secondary buttons use it); WCAG AA needs {MIN_CONTRAST}:1."
            )
    logo = branding.get("logo_uri")
    if logo is not None and (problem := _logo_problem(logo)):
        return problem
    shown = branding.get("display_name")
    if shown is not None and (not shown.strip() or any(ord(c) < 32 for c in shown)):
        return "branding.display_name must be printable text."
    return None


# One host, lower case (as a browser serialises an origin), no wildcard; or an IPv6 literal.
HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])$"
)


def origin_problem(origin: str, *, loopback_http: bool) -> str | None:
    """An origin as a browser sends it: scheme, host and an optional port; nothing else."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return f"embed origin `{origin}` is not scheme://host[:port]."
    shape = f"{parts.scheme}://{parts.netloc}"
    if shape != origin or "@" in parts.netloc or not parts.netloc:
        return f"embed origin `{origin}` must be scheme://host[:port], no path, query or slash."
    host, _, _ = (
        parts.netloc.partition(":")
        if not parts.netloc.startswith("[")
        else (parts.netloc[: parts.netloc.index("]") + 1], "", "")
    )
    if not HOST.match(host):
        return f"embed origin `{origin}` must name one lower-case host (no wildcards)."
    if parts.netloc.endswith(":") or port == 0:
        return f"embed origin `{origin}` has an invalid port."
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and loopback_http and host in LOOPBACK:
        return None
    return f"embed origin `{origin}` must use https (http only for loopback outside production)."


def origins_problem(origins: list[str], *, loopback_http: bool) -> str | None:
    if len(origins) > MAX_ORIGINS:
        return f"At most {MAX_ORIGINS} embed origins."
    for origin in origins:
        if problem := origin_problem(origin, loopback_http=loopback_http):
            return problem
    return None
