"""The consent service's own parts: built once by `create_app`, carried by its runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from ciam_consent.service.recording import Recorder
from ciam_consent_sdk import BrandAppView
from ciam_shared.service import ServiceRuntime, parts_dependency


@dataclass(frozen=True)
class ConsentParts:
    recorder: Recorder
    # Every brand app and the purposes it declared, from the auth service's compacted apps
    # topic: an app token counts only while its app is registered (see ciam_consent.auth).
    apps: BrandAppView


ConsentRuntime = ServiceRuntime[ConsentParts]
PartsDep = Annotated[ConsentParts, Depends(parts_dependency(ConsentParts))]
