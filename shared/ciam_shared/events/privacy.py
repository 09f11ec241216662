"""The privacy centre's requests and answers: a data export gathered from every service, and
each service's confirmation that it erased a deleted subject.

Auth publishes `DataExportRequested` on PRIVACY_REQUESTS; every service (auth included)
answers with one `DataExportPart` on PRIVACY_REPLIES. A deletion is requested by the identity
event `UserDeleted`; each service answers `ErasureConfirmed` on PRIVACY_REPLIES once its
erasure committed (staged in the erasure's own transaction).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from ciam_shared.events.envelope import EventData
from ciam_shared.topics import PRIVACY_REPLIES, PRIVACY_REQUESTS

# The services that answer a request of the privacy centre, in the order the pages show them.
PRIVACY_SERVICES: tuple[str, ...] = ("auth", "consent", "profile", "notifier")
PrivacyService = Literal["auth", "consent", "profile", "notifier"]


class DataExportRequested(EventData):
    """A customer asked for a copy of their data (GDPR art. 15 and 20, CCPA right to know):
    every service answers with a `DataExportPart` of the same `request_id`, encrypted to
    `public_key` (X25519, raw, base64url): the part is personal data in a log that cannot be
    edited, and the private key, held by auth only, is dropped once the export is done."""

    event_type: ClassVar[str] = "dev.ciam.privacy.export.requested.v1"
    topic_base_name: ClassVar[str] = PRIVACY_REQUESTS.base_name

    subject_id: uuid.UUID
    request_id: uuid.UUID
    requested_at: datetime
    public_key: str = Field(min_length=43, max_length=44)


class DataExportPart(EventData):
    """One service's part of an export: a JSON document of everything it holds about the
    subject, gzip-compressed, encrypted to the request's key (ECIES: X25519, HKDF-SHA256,
    AES-256-GCM) and base64-encoded in `content` (ciam_shared.privacy).

    `status` `too_large`: the compressed document is over the inline limit
    (`ciam_shared.privacy.MAX_INLINE_BYTES`, well under Kafka's 1 MiB record), so it is not
    sent and `content` is empty: the export shows this service as failed, never a silent gap.
    `status` `failed`: the service could not read its data (`detail` says why, no personal
    data)."""

    event_type: ClassVar[str] = "dev.ciam.privacy.export.part.v1"
    topic_base_name: ClassVar[str] = PRIVACY_REPLIES.base_name

    subject_id: uuid.UUID
    request_id: uuid.UUID
    service: PrivacyService
    status: Literal["ready", "too_large", "failed"] = "ready"
    encoding: Literal["gzip+x25519-aes256gcm+base64"] = "gzip+x25519-aes256gcm+base64"
    content: str = ""
    size: int = Field(ge=0)  # bytes of the JSON document before compression
    sha256: str = ""  # of the JSON document before compression
    detail: str = ""
    produced_at: datetime


class ErasureConfirmed(EventData):
    """A service erased what it held about a deleted subject (its effect committed with this
    event in one transaction). Sent for every `UserDeleted`, also a repeated one."""

    event_type: ClassVar[str] = "dev.ciam.privacy.erasure.confirmed.v1"
    topic_base_name: ClassVar[str] = PRIVACY_REPLIES.base_name

    subject_id: uuid.UUID
    service: PrivacyService
    erased_at: datetime
