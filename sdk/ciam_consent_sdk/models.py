"""What a brand app sees: a subject's consent state, a change of it, lag and counters.

These mirror the consent service's event contracts (ciam_shared.events.consent) without
importing them: brand apps install this SDK alone. They read tolerantly (unknown fields are
ignored, an unknown status is kept as a plain string and never allows anything) so that an
additive change of the contract does not stop an older brand app.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    NEEDS_RECONSENT = "needs_reconsent"


def _known_status(value: object) -> object:
    # Without this, pydantic's smart union keeps every status as a plain `str`.
    if isinstance(value, str) and value in ConsentStatus._value2member_map_:
        return ConsentStatus(value)
    return value


def _as_utc(value: datetime) -> datetime:
    # A naive time would make every expiry comparison raise; the platform writes UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Status = Annotated[ConsentStatus | str, BeforeValidator(_known_status)]
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# The two shapes the view keeps per subject are slotted dataclasses, validated by pydantic:
# a pydantic model instance costs several hundred bytes more, times subjects x records.
_LENIENT = ConfigDict(extra="ignore")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentStateItem:
    """One consent record: a purpose, optionally narrowed to a brand and/or a channel."""

    __pydantic_config__ = _LENIENT

    purpose: str
    purpose_version: int
    brand: str | None = None
    channel: str | None = None
    status: Status
    version: int  # the subject version at this record's last change
    updated_at: UtcDatetime
    expires_at: UtcDatetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentState:
    """Every current consent record of a subject, after its change number `version`."""

    __pydantic_config__ = _LENIENT

    subject_id: uuid.UUID
    version: Annotated[int, Field(ge=1)]
    updated_at: UtcDatetime
    consents: tuple[ConsentStateItem, ...]


class ConsentUpdate(_Model):
    """An applied change of a subject: a new state, or its erasure (`current` is None)."""

    subject_id: uuid.UUID
    version: int
    previous: ConsentState | None
    current: ConsentState | None
    event_id: uuid.UUID | None  # the state record's ce_id; None for an erasure
    erased: bool
    during_bootstrap: bool = False


class ConsentApplied(_Model):
    """Proof of propagation: `subscriber` applied the subject's state up to `version`."""

    subscriber: str = Field(min_length=1, max_length=200)
    subject_id: uuid.UUID
    version: int = Field(ge=1)
    event_id: uuid.UUID
    applied_at: UtcDatetime


@dataclass(frozen=True, slots=True)
class Lag:
    """How far the view is behind the state topic (records not yet applied)."""

    records_behind: int
    per_partition: Mapping[int, int]
    last_record_at: datetime | None  # the Kafka timestamp of the last record read
    bootstrapped: bool


@dataclass(slots=True)
class ViewStats:
    """Counters since start. `applied` counts states, `erased` tombstones."""

    applied: int = 0
    erased: int = 0
    stale_dropped: int = 0
    malformed: int = 0
    callback_errors: int = 0
    acks_sent: int = 0
    ack_failures: int = 0


_STATE: TypeAdapter[ConsentState] = TypeAdapter(ConsentState)


def parse_state(raw: bytes | str) -> ConsentState:
    """Validate a state record's JSON value (raises pydantic.ValidationError)."""
    return _STATE.validate_json(raw)


def dump_state(state: ConsentState) -> dict[str, Any]:
    """The JSON-ready form of a state, as the consent service writes it."""
    dumped: dict[str, Any] = _STATE.dump_python(state, mode="json")
    return dumped
