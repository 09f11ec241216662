"""Every brand app the auth service knows, from its compacted topic: which brand each app
belongs to and which purposes it declared. Services read it to decide what an app may see
(profile) or to name apps (consent, notifier); brand apps may read it too.

The topic `ciam.auth.apps` is keyed by client id; each record is the app's whole current
registration (`dev.ciam.auth.app.registered.v1`), a deletion event, or a tombstone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ciam_consent_sdk.feed import StateFeed
from ciam_consent_sdk.wire import KafkaRecord

log = logging.getLogger(__name__)

APPS_TOPIC = "ciam.auth.apps"
REGISTERED = "dev.ciam.auth.app.registered.v1"
DELETED = "dev.ciam.auth.app.deleted.v1"


class BrandApp(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    client_id: str
    name: str
    brand: str | None
    purposes: list[str]
    scopes: list[str]
    first_party: bool
    updated_at: datetime


class BrandAppView:
    """`start()` returns once every app present at start is known; then follows live."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic_prefix: str = "",
        client_id: str = "ciam-apps-view",
        kafka_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.topic = f"{topic_prefix}{APPS_TOPIC}"
        self._apps: dict[str, BrandApp] = {}
        self._feed = StateFeed(
            topic=self.topic,
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            handler=self._handle,
            kafka_options=dict(kafka_options or {}),
            stop_timeout=5.0,
            lag_refresh_seconds=30.0,
        )

    def get(self, client_id: str) -> BrandApp | None:
        return self._apps.get(client_id)

    def purposes_of(self, client_id: str) -> frozenset[str]:
        """The purposes an app declared; none for an unknown app (fail closed)."""
        app = self._apps.get(client_id)
        return frozenset(app.purposes) if app else frozenset()

    def all(self) -> list[BrandApp]:
        return sorted(self._apps.values(), key=lambda a: a.client_id)

    @property
    def bootstrapped(self) -> bool:
        return self._feed.bootstrapped

    async def start(self) -> None:
        await self._feed.start()

    async def stop(self) -> None:
        await self._feed.stop()

    async def _handle(self, record: KafkaRecord, during_bootstrap: bool = False) -> None:
        key = record.key.decode(errors="replace") if record.key else None
        if key is None:
            return
        if record.value is None:
            self._apps.pop(key, None)
            return
        headers = {name: raw.decode(errors="replace") for name, raw in record.headers}
        event_type = headers.get("ce_type")
        if event_type == DELETED:
            self._apps.pop(key, None)
            return
        if event_type != REGISTERED:
            return
        try:
            app = BrandApp.model_validate_json(record.value)
        except ValidationError:
            log.warning("skipped a malformed app record", extra={"offset": record.offset})
            return
        if app.client_id != key:
            log.warning("skipped an app record keyed by another id", extra={"key": key})
            return
        current = self._apps.get(key)
        if current is None or current.updated_at <= app.updated_at:
            self._apps[key] = app
