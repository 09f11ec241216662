"""QR codes for authenticator apps (segno): an SVG as a `data:` URI, which the pages' CSP
allows as an image (page_security.py) without any inline script or external fetch."""

from __future__ import annotations

from urllib.parse import quote

import segno


def qr_data_uri(text: str) -> str:
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2))


def text_file_uri(text: str) -> str:
    """A plain-text file as a `data:` URI, for a download link (`<a download>`) of something
    the server shows only once (recovery codes) and so cannot serve again."""
    return "data:text/plain;charset=utf-8," + quote(text)
