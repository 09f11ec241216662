"""The profile service's own parts: built once by `create_app`, carried by its runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from ciam_consent_sdk import BrandAppView
from ciam_profile.cache import ProfileCache
from ciam_profile.gate import ConsentGate
from ciam_profile.settings import ProfileSettings
from ciam_profile.social import SocialImports
from ciam_shared.service import ServiceRuntime, parts_dependency


# No use case in here (ciam_profile.auth, which the service layer imports, takes these parts):
# the api builds its Reader from them (ciam_profile.api.deps.reader_of).
@dataclass(frozen=True)
class ProfileParts:
    settings: ProfileSettings
    cache: ProfileCache
    gate: ConsentGate
    # The brand apps and their declared purposes, from the auth service's compacted apps
    # topic: every request's app check (ciam_profile.auth) and what a read may show an app.
    apps: BrandAppView
    # None: social import is off (no client credentials for the auth service's import API).
    imports: SocialImports | None

    @property
    def topic_prefix(self) -> str:
        return self.settings.topic_prefix


ProfileRuntime = ServiceRuntime[ProfileParts]
PartsDep = Annotated[ProfileParts, Depends(parts_dependency(ProfileParts))]
