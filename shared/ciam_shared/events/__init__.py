"""Event contracts: the CloudEvents envelope and the versioned pydantic schemas of every event."""

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
from ciam_shared.events.identity import (
    EmailVerified,
    PasswordChanged,
    SecondFactorChanged,
    UserDeleted,
    UserRegistered,
    UserSignedIn,
)
from ciam_shared.events.notifier import WebhookDeadLettered
from ciam_shared.events.profile import ProfileCreated

__all__ = [
    "CHANGE_EVENTS",
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
    "EmailVerified",
    "EventData",
    "PasswordChanged",
    "ProfileCreated",
    "SecondFactorChanged",
    "SubjectConsentsErased",
    "UnknownEventType",
    "UserDeleted",
    "UserRegistered",
    "UserSignedIn",
    "WebhookDeadLettered",
    "decode",
    "encode",
    "event_type_registry",
]
