"""Consent events, published by the consent service.

Two topics carry them (see topics.py):
- CONSENT_CHANGES: one event per change (granted, denied, withdrawn, expired, reconsent
  required, subject erased), kept forever for audit and replay;
- CONSENT_STATE (compacted): `ConsentState`, the whole current consent set of a subject after
  each change, keyed by subject id; an erased subject gets a tombstone (a record with no value).
The purpose catalogue travels on CONSENT_PURPOSES (compacted): one `PurposeDefined` per
purpose, keyed by the purpose id (reference data, not a customer's: the one topic not keyed by
a subject). Subscribers acknowledge what they applied with `ConsentApplied` on CONSENT_APPLIED.

`version` is the subject's consent version: it increases by one with every change, so any
consumer drops a stale or duplicate record by comparing versions.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ciam_shared.events.envelope import EventData
from ciam_shared.topics import CONSENT_APPLIED, CONSENT_CHANGES, CONSENT_PURPOSES, CONSENT_STATE


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    NEEDS_RECONSENT = "needs_reconsent"


class CollectionMethod(StrEnum):
    WEB = "web"
    APP = "app"
    API = "api"
    GPC = "gpc"  # a Global Privacy Control signal (Sec-GPC: 1)
    IMPORT = "import"
    SYSTEM = "system"  # expiry, a new notice version: no person acted


class ConsentChange(EventData):
    """What every change event carries. `entry_hash` chains the subject's history."""

    subject_id: uuid.UUID
    version: int = Field(ge=1)
    purpose: str
    purpose_version: int = Field(ge=1)
    brand: str | None = None
    channel: str | None = None
    status: ConsentStatus
    collected_via: CollectionMethod
    source_app: str | None = None
    occurred_at: datetime
    expires_at: datetime | None = None
    entry_hash: str
    previous_hash: str | None = None


class ConsentGranted(ConsentChange):
    """The subject gave consent for a purpose (optionally for one brand and channel)."""

    event_type: ClassVar[str] = "dev.ciam.consent.granted.v1"
    topic_base_name: ClassVar[str] = CONSENT_CHANGES.base_name


class ConsentDenied(ConsentChange):
    """The subject refused a purpose when asked."""

    event_type: ClassVar[str] = "dev.ciam.consent.denied.v1"
    topic_base_name: ClassVar[str] = CONSENT_CHANGES.base_name


class ConsentWithdrawn(ConsentChange):
    """The subject withdrew an earlier consent (or opted out, e.g. by a GPC signal)."""

    event_type: ClassVar[str] = "dev.ciam.consent.withdrawn.v1"
    topic_base_name: ClassVar[str] = CONSENT_CHANGES.base_name


class ConsentExpired(ConsentChange):
    """A consent reached its expiry time."""

    event_type: ClassVar[str] = "dev.ciam.consent.expired.v1"
    topic_base_name: ClassVar[str] = CONSENT_CHANGES.base_name


class ConsentReconsentRequired(ConsentChange):
    """A new notice version of the purpose invalidated the consent: ask again."""

    event_type: ClassVar[str] = "dev.ciam.consent.reconsent-required.v1"
    topic_base_name: ClassVar[str] = CONSENT_CHANGES.base_name


CHANGE_EVENTS: dict[ConsentStatus, type[ConsentChange]] = {
    ConsentStatus.GRANTED: ConsentGranted,
    ConsentStatus.DENIED: ConsentDenied,
    ConsentStatus.WITHDRAWN: ConsentWithdrawn,
    ConsentStatus.EXPIRED: ConsentExpired,
    ConsentStatus.NEEDS_RECONSENT: ConsentReconsentRequired,
}


class SubjectConsentsErased(EventData):
    """The subject was erased: its consents are gone (the state topic gets a tombstone)."""

    event_type: ClassVar[str] = "dev.ciam.consent.subject-erased.v1"
    topic_base_name: ClassVar[str] = CONSENT_CHANGES.base_name

    subject_id: uuid.UUID
    version: int
    occurred_at: datetime


class ConsentStateItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: str
    purpose_version: int
    brand: str | None = None
    channel: str | None = None
    status: ConsentStatus
    version: int  # the subject version at this record's last change
    updated_at: datetime
    expires_at: datetime | None = None


class ConsentState(EventData):
    """Every current consent record of a subject, after its latest change."""

    event_type: ClassVar[str] = "dev.ciam.consent.state.v1"
    topic_base_name: ClassVar[str] = CONSENT_STATE.base_name

    subject_id: uuid.UUID
    version: int = Field(ge=1)
    updated_at: datetime
    consents: list[ConsentStateItem]


class ConsentApplied(EventData):
    """Proof of propagation: `subscriber` applied the subject's state up to `version`."""

    event_type: ClassVar[str] = "dev.ciam.consent.applied.v1"
    topic_base_name: ClassVar[str] = CONSENT_APPLIED.base_name

    subscriber: str = Field(min_length=1, max_length=200)
    subject_id: uuid.UUID
    version: int = Field(ge=1)
    event_id: uuid.UUID
    applied_at: datetime


class PurposeDefined(EventData):
    """A purpose of the catalogue as it now stands: its data categories (identity,
    descriptive, attitudinal, behavioural) and legal basis. Keyed by the purpose id on a
    compacted topic, so a reader from the beginning knows the whole catalogue."""

    event_type: ClassVar[str] = "dev.ciam.consent.purpose.defined.v1"
    topic_base_name: ClassVar[str] = CONSENT_PURPOSES.base_name

    purpose_id: str = Field(min_length=1, max_length=64)
    legal_basis: str
    data_categories: list[str]
    channels: list[str]
    sale_or_share: bool
    current_version: int = Field(ge=1)
    min_valid_version: int = Field(ge=1)
    defined_at: datetime

    def subject(self) -> str:
        return self.purpose_id
