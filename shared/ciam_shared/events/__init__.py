"""Event contracts: the CloudEvents envelope and the versioned pydantic schemas of every event."""

from ciam_shared.events.envelope import (
    CloudEvent,
    EventData,
    UnknownEventType,
    decode,
    encode,
    event_type_registry,
)
from ciam_shared.events.identity import UserRegistered
from ciam_shared.events.profile import ProfileCreated

__all__ = [
    "CloudEvent",
    "EventData",
    "ProfileCreated",
    "UnknownEventType",
    "UserRegistered",
    "decode",
    "encode",
    "event_type_registry",
]
