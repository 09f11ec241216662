"""CloudEvents 1.0 in Kafka binary mode.

The record value is the event's data as JSON; the context attributes travel as `ce_*` headers
(CloudEvents Kafka protocol binding, binary content mode) and the record key is the subject id.
Binary mode keeps the body equal to the pydantic data model, so FastStream's AsyncAPI document
describes the payload exactly, and consumers can route on `ce_type` without parsing the body.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class UnknownEventType(ValueError):
    pass


class EventData(BaseModel):
    """Base of every event payload. Subclasses name their CloudEvents type and topic.

    `event_type` ends in a version (`.v1`): a breaking change is a new class with `.v2`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    topic_base_name: ClassVar[str]

    _registry: ClassVar[dict[str, type[EventData]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type:
            if event_type in EventData._registry:
                raise TypeError(f"event type {event_type} declared twice")
            EventData._registry[event_type] = cls

    def subject(self) -> str:
        """The partition key: the customer (subject) id. Every event type must have one."""
        return str(self.subject_id)  # type: ignore[attr-defined]


def event_type_registry() -> Mapping[str, type[EventData]]:
    return dict(EventData._registry)


D = TypeVar("D", bound=EventData)


class CloudEvent(BaseModel, Generic[D]):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str
    type: str
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    specversion: str = SPEC_VERSION
    datacontenttype: str = CONTENT_TYPE
    data: D

    @classmethod
    def wrap(cls, data: D, *, source: str, id: uuid.UUID | None = None) -> CloudEvent[D]:
        return CloudEvent[D](
            id=id or uuid.uuid4(),
            source=source,
            type=data.event_type,
            subject=data.subject(),
            data=data,
        )


def encode(event: CloudEvent[Any]) -> tuple[bytes, bytes, dict[str, str]]:
    """The record's key, value and headers."""
    headers = {
        "ce_specversion": event.specversion,
        "ce_id": str(event.id),
        "ce_source": event.source,
        "ce_type": event.type,
        "ce_subject": event.subject,
        "ce_time": event.time.isoformat(),
        "content-type": event.datacontenttype,
    }
    return event.subject.encode(), event.data.model_dump_json().encode(), headers


def decode(headers: Mapping[str, str | bytes], value: bytes) -> CloudEvent[EventData]:
    """Parse a record; raises UnknownEventType for a type this code does not know."""
    h = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()}
    event_type = h.get("ce_type", "")
    model = EventData._registry.get(event_type)
    if model is None:
        raise UnknownEventType(event_type)
    return CloudEvent[EventData](
        id=uuid.UUID(h["ce_id"]),
        source=h["ce_source"],
        type=event_type,
        subject=h["ce_subject"],
        time=datetime.fromisoformat(h["ce_time"]),
        specversion=h.get("ce_specversion", SPEC_VERSION),
        datacontenttype=h.get("content-type", CONTENT_TYPE),
        data=model.model_validate_json(value),
    )
