"""Which purposes each brand app declared.

The auth service registers brand apps (OIDC clients) with the purposes each uses and publishes
them on the compacted `ciam.auth.apps` topic; the SDK's `BrandAppView` follows it in memory,
so a read asks no one. Tokens do not carry purposes: what an app declared is its registration
at the auth service, not its own claim. An app the view does not know declared nothing (fail
closed).
"""

from __future__ import annotations

from typing import Protocol


class DeclaredPurposes(Protocol):
    def purposes_of(self, client_id: str) -> frozenset[str]:
        """The purposes an app declared; none for an unknown app (fail closed)."""
        ...
