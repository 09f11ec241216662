"""Event contracts: the CloudEvents envelope and the versioned pydantic schemas of every event."""

from ciam_shared.events.apps import BrandAppDeleted, BrandAppRegistered
from ciam_shared.events.consent import (
    CHANGE_EVENTS,
    CollectionMethod,
    ConsentApplied,
    ConsentChange,
    ConsentDenied,
    ConsentExpired,
    ConsentGranted,
    ConsentReconsentRequired,
    ConsentState,
    ConsentStateItem,
    ConsentStatus,
    ConsentWithdrawn,
    PurposeDefined,
    SubjectConsentsErased,
)
from ciam_shared.events.envelope import (
    CloudEvent,
    EventData,
    UnknownEventType,
    decode,
    encode,
    event_type_registry,
)
from ciam_shared.events.identity import UserDeleted, UserRegistered
from ciam_shared.events.notifier import WebhookDeadLettered
from ciam_shared.events.profile import (
    IdentifierLinked,
    ProfileCreated,
    ProfileErased,
    ProfileMergeUndone,
    ProfilesMerged,
    ProfileUpdated,
)

__all__ = [
    "CHANGE_EVENTS",
    "BrandAppDeleted",
    "BrandAppRegistered",
    "CloudEvent",
    "CollectionMethod",
    "ConsentApplied",
    "ConsentChange",
    "ConsentDenied",
    "ConsentExpired",
    "ConsentGranted",
    "ConsentReconsentRequired",
    "ConsentState",
    "ConsentStateItem",
    "ConsentStatus",
    "ConsentWithdrawn",
    "EventData",
    "IdentifierLinked",
    "ProfileCreated",
    "ProfileErased",
    "ProfileMergeUndone",
    "ProfileUpdated",
    "ProfilesMerged",
    "PurposeDefined",
    "SubjectConsentsErased",
    "UnknownEventType",
    "UserDeleted",
    "UserRegistered",
    "WebhookDeadLettered",
    "decode",
    "encode",
    "event_type_registry",
]
