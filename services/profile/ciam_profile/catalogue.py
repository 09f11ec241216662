"""The purpose catalogue as the consent service publishes it (`PurposeDefined` records on the
compacted purposes topic), kept in memory: which data kinds each purpose covers.

Why a topic and not an HTTP call to the consent service: the catalogue is small, changes
rarely, and every read of a profile needs it; reading the compacted topic from its beginning
at start (like the SDK's ConsentView reads consent states) gives the whole catalogue without
the consent service having to be up, and follows every change within milliseconds. Nothing
reads the consent service's tables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ciam_consent_sdk.feed import StateFeed
from ciam_consent_sdk.wire import KafkaRecord
from ciam_profile.fields import DataKind
from ciam_shared.events import PurposeDefined, UnknownEventType, decode
from ciam_shared.topics import CONSENT_PURPOSES

log = logging.getLogger(__name__)

CONSENT_BASIS = "dpv:Consent"


@dataclass(frozen=True, slots=True)
class PurposeInfo:
    id: str
    kinds: frozenset[DataKind]
    # Only a consent-based purpose needs the subject's consent; a purpose on another legal
    # basis (a contract) applies to whoever the app serves, as the catalogue declares.
    requires_consent: bool


class PurposeCatalogue:
    def __init__(self, bootstrap_servers: str, *, topic_prefix: str) -> None:
        self._purposes: dict[str, PurposeInfo] = {}
        self._feed = StateFeed(
            topic=CONSENT_PURPOSES.name(topic_prefix),
            bootstrap_servers=bootstrap_servers,
            client_id="profile-purposes",
            handler=self._handle,
            kafka_options={},
            stop_timeout=5.0,
            lag_refresh_seconds=30.0,
        )

    def get(self, purpose: str) -> PurposeInfo | None:
        return self._purposes.get(purpose)

    def __contains__(self, purpose: str) -> bool:
        return purpose in self._purposes

    async def start(self) -> None:
        """Returns once every purpose published so far is known."""
        await self._feed.start()
        log.info("purpose catalogue loaded", extra={"purposes": sorted(self._purposes)})

    async def stop(self) -> None:
        await self._feed.stop()

    async def _handle(self, record: KafkaRecord, during_bootstrap: bool = False) -> None:
        key = record.key.decode() if record.key else ""
        if record.value is None:  # a tombstone: the purpose was removed
            self._purposes.pop(key, None)
            return
        headers = {k: v for k, v in record.headers}
        try:
            event = decode(headers, record.value)
        except (UnknownEventType, ValueError, KeyError):
            log.warning("skipped a malformed purpose record", extra={"key": key})
            return
        data = event.data
        if not isinstance(data, PurposeDefined):
            return
        kinds = frozenset(
            DataKind(c) for c in data.data_categories if c in DataKind._value2member_map_
        )
        self._purposes[data.purpose_id] = PurposeInfo(
            data.purpose_id, kinds, requires_consent=data.legal_basis == CONSENT_BASIS
        )
