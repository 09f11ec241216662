"""The pages' style sheet and script (static/), served by auth itself so the pages' CSP can
allow `'self'` and nothing else. Read once at import; a fixed list, no path from the URL
reaches the file system."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response

from ciam_auth.page_security import NOSNIFF

_FOLDER = Path(__file__).parent / "static"
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_FILES = {p.name: p.read_bytes() for p in sorted(_FOLDER.iterdir()) if p.suffix in _TYPES}
_ETAGS = {name: f'"{hashlib.sha256(body).hexdigest()[:16]}"' for name, body in _FILES.items()}

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/assets/{name}")
async def asset(name: str, request: Request) -> Response:
    body = _FILES.get(name)
    if body is None:
        raise HTTPException(status_code=404)
    etag = _ETAGS[name]
    # Revalidated each time (cheap, with the ETag): a deploy changes the files in place.
    headers = {"ETag": etag, "Cache-Control": "no-cache", **NOSNIFF}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=_TYPES[Path(name).suffix], headers=headers)
