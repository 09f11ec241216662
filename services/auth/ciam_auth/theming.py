"""The look and framing of a page opened for a brand app (`?client_id=`): its name, logo and
colours from its registration, and `frame-ancestors` of the origins it registered.

A page resolves the app once per request (`privacy/api/common.py` `page_brand`) and leaves it
on `request.state`; `pages.render` and the redirects read it from there, so every link, form
and redirect of a themed page keeps `client_id`. The style sheet gets only custom properties
built here from colours the registration checked (`#rrggbb`), never text an app sent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from markupsafe import Markup

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class PageBrand:
    client_id: str
    name: str | None = None
    logo_uri: str | None = None
    primary_color: str | None = None
    text_color: str | None = None
    embed_origins: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, client_id: str, branding: dict[str, str] | None, origins: list[str]) -> PageBrand:
        look = branding or {}
        return cls(
            client_id=client_id,
            name=look.get("display_name"),
            logo_uri=look.get("logo_uri"),
            primary_color=look.get("primary_color"),
            text_color=look.get("text_color"),
            embed_origins=tuple(origins),
        )

    def theme_css(self) -> str | None:
        # Checked again here: a value that is not #rrggbb never reaches the <style> element.
        if not (self.primary_color and self.text_color):
            return None
        if not (HEX.match(self.primary_color) and HEX.match(self.text_color)):
            return None
        return f":root{{--brand:{self.primary_color};--brand-text:{self.text_color}}}"


def framed(request: Request) -> bool:
    """The browser loads this page into a frame (Fetch Metadata: Chromium, Firefox, Safari)."""
    return request.headers.get("sec-fetch-dest", "") in {"iframe", "frame"}


def brand_of(request: Request) -> PageBrand | None:
    found = getattr(request.state, "page_brand", None)
    return found if isinstance(found, PageBrand) else None


def keep(request: Request, url: str) -> str:
    """`url` (a path of ours, maybe with a query and a fragment) with the page's client_id."""
    brand = brand_of(request)
    if brand is None:
        return url
    path, hash_, fragment = url.partition("#")
    joiner = "&" if "?" in path else "?"
    return f"{path}{joiner}{urlencode({'client_id': brand.client_id})}{hash_}{fragment}"


def page_values(request: Request) -> dict[str, Any]:
    """What layout.html takes for the brand (nothing when the page is auth's own)."""
    brand = brand_of(request)
    return {
        "brand_name": brand.name if brand else None,
        "brand_logo": brand.logo_uri if brand else None,
        "theme_css": brand.theme_css() if brand else None,
        "keep": lambda url: keep(request, url),
        # Links to pages that are never framed (account, data export) open a new window
        # from a frame, rather than a frame the browser refuses to show.
        "new_window": Markup(' target="_blank" rel="noopener"')
        if brand and framed(request)
        else "",
    }


def header_values(request: Request) -> dict[str, Any]:
    """page_headers' arguments for the brand: its frame ancestors and its logo's origin."""
    brand = brand_of(request)
    if brand is None:
        return {}
    values: dict[str, Any] = {"frame_ancestors": list(brand.embed_origins)}
    if brand.logo_uri:
        logo = urlsplit(brand.logo_uri)
        values["img_src"] = f"'self' data: {logo.scheme}://{logo.netloc}"
    return values
