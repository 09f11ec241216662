"""What the endpoints take from the running service, as `Annotated` dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ciam_profile.parts import PartsDep, ProfileParts
from ciam_profile.service.reading import Reader

__all__ = ["GpcDep", "PartsDep", "reader_of"]


def reader_of(parts: ProfileParts) -> Reader:
    """Consent-aware reads with the running service's cache, consents and apps."""
    return Reader(parts.cache, parts.gate, parts.apps)


async def gpc_signal(request: Request) -> bool:
    """Global Privacy Control: `Sec-GPC: 1`. Absent is never read as anything."""
    return request.headers.get("sec-gpc", "").strip() == "1"


GpcDep = Annotated[bool, Depends(gpc_signal)]
