"""Brand-app events, published by the auth service on BRAND_APPS (compacted, keyed by client id).

A brand app is an OIDC client of the auth service. Consent, profile and notifier learn every app,
its brand and the purposes it declared from this topic instead of asking the auth service.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from ciam_shared.events.envelope import EventData
from ciam_shared.topics import BRAND_APPS


class BrandAppRegistered(EventData):
    """The whole current registration of an app: emitted on creation and on every change."""

    event_type: ClassVar[str] = "dev.ciam.auth.app.registered.v1"
    topic_base_name: ClassVar[str] = BRAND_APPS.base_name

    client_id: str
    name: str
    brand: str | None
    purposes: list[str]
    scopes: list[str]
    first_party: bool
    registered_at: datetime
    updated_at: datetime

    def subject(self) -> str:
        return self.client_id


class BrandAppDeleted(EventData):
    """The app was removed; a tombstone for its key follows on the compacted topic."""

    event_type: ClassVar[str] = "dev.ciam.auth.app.deleted.v1"
    topic_base_name: ClassVar[str] = BRAND_APPS.base_name

    client_id: str
    deleted_at: datetime

    def subject(self) -> str:
        return self.client_id
