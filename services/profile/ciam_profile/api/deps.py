"""What the endpoints take from the running service, as `Annotated` dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ciam_profile.cache import ProfileCache
from ciam_profile.gate import ConsentGate
from ciam_profile.service.apps import DeclaredPurposes
from ciam_profile.service.reading import Reader
from ciam_profile.settings import ProfileSettings
from ciam_shared.service import RuntimeDep

PARTS = "profile_parts"


@dataclass(frozen=True)
class Parts:
    """The service's own parts, built once by create_app."""

    settings: ProfileSettings
    cache: ProfileCache
    gate: ConsentGate
    apps: DeclaredPurposes

    @property
    def reader(self) -> Reader:
        return Reader(self.cache, self.gate, self.apps)

    @property
    def topic_prefix(self) -> str:
        return self.settings.topic_prefix


async def get_parts(runtime: RuntimeDep) -> Parts:
    parts: Parts = runtime.extras[PARTS]
    return parts


PartsDep = Annotated[Parts, Depends(get_parts)]


async def gpc_signal(request: Request) -> bool:
    """Global Privacy Control: `Sec-GPC: 1`. Absent is never read as anything."""
    return request.headers.get("sec-gpc", "").strip() == "1"


GpcDep = Annotated[bool, Depends(gpc_signal)]
