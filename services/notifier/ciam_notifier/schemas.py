from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time must carry its zone, e.g. 2027-01-01T00:00:00Z")
    return value


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    event_types: list[Name] = Field(default_factory=list, max_length=50)
    purposes: list[Name] = Field(default_factory=list, max_length=100)
    brands: list[Name] = Field(default_factory=list, max_length=100)


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    app: str
    url: str
    event_types: list[str]
    purposes: list[str]
    brands: list[str]
    status: str
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str  # shown once: at creation and at rotation


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    subject_id: uuid.UUID
    version: int
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime
    delivered_at: datetime | None


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: Annotated[datetime, AfterValidator(_aware)]
    until: Annotated[datetime, AfterValidator(_aware)]


class ReplayOut(BaseModel):
    requeued: int
