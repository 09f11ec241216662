"""HTTP shapes of the profile API (the Kafka shapes live in ciam_shared.events)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ciam_profile.fields import EMAIL, PHONE, FieldsPatch, Key


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldOut(BaseModel):
    value: Any
    kind: str
    updated_at: datetime | None = None
    # "social-import": the value came from the customer's social profile (and goes when
    # they withdraw that consent); absent: written through this API.
    source: str | None = None


class ProfileOut(BaseModel):
    subject_id: uuid.UUID
    known: bool
    merged_subject_ids: list[uuid.UUID]
    registered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    fields: dict[str, FieldOut]
    # For an app: the data kinds its declared purposes and the subject's consents allow;
    # fields of any other kind are left out.
    allowed_kinds: list[str]


class ProfilePatch(_In):
    """`{"fields": {"name": "Ada", "address": null}}`: null deletes a field."""

    fields: FieldsPatch  # type: ignore[valid-type]


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    SOCIAL = "social"  # provider:id
    DEVICE = "device"
    COOKIE = "cookie"  # an anonymous cookie id
    LOYALTY = "loyalty"


ANONYMOUS_KINDS = frozenset({IdentifierKind.DEVICE, IdentifierKind.COOKIE})
_PATTERNS = {
    IdentifierKind.EMAIL: EMAIL,
    IdentifierKind.PHONE: PHONE,
    IdentifierKind.SOCIAL: r"^[a-z0-9-]{2,32}:[^\s]{1,200}$",
}


class IdentifierIn(_In):
    kind: IdentifierKind
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]

    @model_validator(mode="after")
    def _normalise(self) -> IdentifierIn:
        if self.kind is IdentifierKind.EMAIL:
            self.value = self.value.lower()
        pattern = _PATTERNS.get(self.kind)
        if pattern and not re.fullmatch(pattern, self.value):
            raise ValueError(f"not a valid {self.kind.value} identifier")
        return self


class IdentifierLinkOut(BaseModel):
    subject_id: uuid.UUID
    kind: IdentifierKind
    merge_id: uuid.UUID | None  # set when linking stitched an anonymous profile in


class AnonymousIn(_In):
    """An anonymous visitor, known by a device or cookie id; `gpc` (or the Sec-GPC header)
    marks them never to be tracked."""

    identifiers: list[IdentifierIn] = Field(min_length=1, max_length=10)
    gpc: bool = False

    @field_validator("identifiers")
    @classmethod
    def _anonymous_kinds(cls, value: list[IdentifierIn]) -> list[IdentifierIn]:
        if any(i.kind not in ANONYMOUS_KINDS for i in value):
            raise ValueError("an anonymous visitor is known by device or cookie ids only")
        return value


class AnonymousOut(BaseModel):
    subject_id: uuid.UUID
    created: bool


Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
MAX_PROPERTIES_BYTES = 4096


class TrackedEventIn(_In):
    id: uuid.UUID | None = None  # a client's retry with the same id is stored once
    type: Key
    channel: Slug
    occurred_at: AwareDatetime
    subject_id: uuid.UUID | None = None
    device_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    anonymous_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    gpc: bool = False
    properties: dict[Key, Any] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> TrackedEventIn:
        if self.subject_id is None and self.device_id is None and self.anonymous_id is None:
            raise ValueError("an event names a subject_id, a device_id or an anonymous_id")
        if self.occurred_at > datetime.now(UTC) + timedelta(minutes=5):
            raise ValueError("occurred_at is in the future")
        if len(BaseModel.model_dump_json(self, include={"properties"})) > MAX_PROPERTIES_BYTES:
            raise ValueError(f"properties exceed {MAX_PROPERTIES_BYTES} bytes")
        return self


class TrackIn(_In):
    events: list[TrackedEventIn] = Field(min_length=1, max_length=1000)


class TrackResult(BaseModel):
    index: int
    stored: bool
    reason: str | None = None


class TrackOut(BaseModel):
    stored: int
    refused: int
    results: list[TrackResult]


class MergeIn(_In):
    survivor_id: uuid.UUID
    absorbed_id: uuid.UUID


class MergeOut(BaseModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    absorbed_id: uuid.UUID
    reason: str
    merged_by: str
    merged_at: datetime
    undone_at: datetime | None
    undone_by: str | None
