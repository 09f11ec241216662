"""HTTP shapes of the consent API (not the Kafka contracts, not the ORM)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ciam_shared.events import CollectionMethod, ConsentStatus

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Scope = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]
# W3C Data Privacy Vocabulary terms for the legal basis of a purpose.
LegalBasis = Literal[
    "dpv:Consent",
    "dpv:Contract",
    "dpv:LegitimateInterest",
    "dpv:LegalObligation",
    "dpv:VitalInterest",
    "dpv:PublicInterest",
]
DataCategory = Literal["identity", "descriptive", "attitudinal", "behavioural"]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("a time must carry its zone, e.g. 2027-01-01T00:00:00Z")
    return value


# Versions are 32-bit integer columns: a larger number cannot name a row, and sent to the
# database it would fail there (a 500); refuse it at the edge (422 problem details).
VERSION_MAX = 2**31 - 1


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeIn(Strict):
    purpose: Slug
    status: Literal[ConsentStatus.GRANTED, ConsentStatus.DENIED, ConsentStatus.WITHDRAWN]
    brand: Scope | None = None
    channel: Scope | None = None
    purpose_version: int | None = Field(default=None, ge=1, le=VERSION_MAX)
    expires_at: Annotated[datetime | None, AfterValidator(_aware)] = None


class ChangesIn(Strict):
    changes: list[ChangeIn] = Field(min_length=1, max_length=100)
    collected_via: Literal[
        CollectionMethod.WEB, CollectionMethod.APP, CollectionMethod.API, CollectionMethod.IMPORT
    ] = CollectionMethod.API
    device: str | None = Field(default=None, max_length=200)


class SingleChangeIn(Strict):
    brand: Scope | None = None
    channel: Scope | None = None
    purpose_version: int | None = Field(default=None, ge=1, le=VERSION_MAX)
    expires_at: Annotated[datetime | None, AfterValidator(_aware)] = None
    collected_via: Literal[
        CollectionMethod.WEB, CollectionMethod.APP, CollectionMethod.API, CollectionMethod.IMPORT
    ] = CollectionMethod.API
    device: str | None = Field(default=None, max_length=200)


class ConsentOut(BaseModel):
    purpose: str
    brand: str | None
    channel: str | None
    status: ConsentStatus
    purpose_version: int
    collected_via: CollectionMethod
    version: int
    updated_at: datetime
    expires_at: datetime | None


class SubjectConsentsOut(BaseModel):
    subject_id: uuid.UUID
    version: int
    consents: list[ConsentOut]


class ChangeOut(BaseModel):
    version: int
    event_id: uuid.UUID
    purpose: str
    brand: str | None
    channel: str | None
    status: ConsentStatus
    receipt_url: str


class ChangesOut(BaseModel):
    subject_id: uuid.UUID
    version: int
    changes: list[ChangeOut]


class HistoryEntryOut(BaseModel):
    version: int
    event_id: uuid.UUID
    purpose: str
    purpose_version: int
    notice_hash: str
    brand: str | None
    channel: str | None
    status: ConsentStatus
    collected_via: CollectionMethod
    source: dict[str, Any]
    # The display name of `source.app` while the auth service knows that app.
    source_app_name: str | None = None
    occurred_at: datetime
    expires_at: datetime | None
    previous_hash: str | None
    entry_hash: str


class HistoryOut(BaseModel):
    subject_id: uuid.UUID
    chain_valid: bool
    first_broken_version: int | None
    entries: list[HistoryEntryOut]


class LatestHistoryOut(BaseModel):
    """Each purpose's newest history entry, oldest first; the chain is not checked here (it
    needs every entry: `GET /history`)."""

    subject_id: uuid.UUID
    entries: list[HistoryEntryOut]


class ReceiptOut(BaseModel):
    receipt: dict[str, Any]
    jws: str
    jwks_url: str
    source_app_name: str | None = None


class PurposeVersionOut(BaseModel):
    version: int
    notice: dict[str, str]
    notice_hash: str
    published_at: datetime


class PurposeOut(BaseModel):
    id: str
    names: dict[str, str]
    descriptions: dict[str, str]
    legal_basis: str
    data_categories: list[str]
    channels: list[str]
    sale_or_share: bool
    current_version: int
    min_valid_version: int
    versions: list[PurposeVersionOut]


Lang = Annotated[
    dict[Literal["en", "pl"], Annotated[str, Field(min_length=1, max_length=10000)]],
    Field(min_length=2),
]


class PurposeIn(Strict):
    id: Slug
    names: Lang
    descriptions: Lang
    legal_basis: LegalBasis
    data_categories: list[DataCategory] = Field(min_length=1)
    channels: list[Scope] = []
    sale_or_share: bool = False
    notice: Lang


class PurposeVersionIn(Strict):
    notice: Lang
    requires_reconsent: bool = False


class PropagationEntryOut(BaseModel):
    version: int
    event_id: uuid.UUID
    status: ConsentStatus
    purpose: str
    occurred_at: datetime
    applied: dict[str, datetime]
    pending: list[str]


class PropagationOut(BaseModel):
    subject_id: uuid.UUID
    subscribers: list[str]
    changes: list[PropagationEntryOut]
