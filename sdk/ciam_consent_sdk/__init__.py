"""For brand apps: an always-current, in-memory view of customers' consents, fed by Kafka."""

from ciam_consent_sdk.apps import APPS_TOPIC, BrandApp, BrandAppView
from ciam_consent_sdk.feed import ConsentViewError
from ciam_consent_sdk.models import (
    ConsentApplied,
    ConsentState,
    ConsentStateItem,
    ConsentStatus,
    ConsentUpdate,
    Lag,
    ViewStats,
)
from ciam_consent_sdk.rules import deciding_record, is_allowed
from ciam_consent_sdk.view import ChangeCallback, ConsentView
from ciam_consent_sdk.wire import APPLIED_TOPIC, STATE_TOPIC

__all__ = [
    "APPLIED_TOPIC",
    "APPS_TOPIC",
    "STATE_TOPIC",
    "BrandApp",
    "BrandAppView",
    "ChangeCallback",
    "ConsentApplied",
    "ConsentState",
    "ConsentStateItem",
    "ConsentStatus",
    "ConsentUpdate",
    "ConsentView",
    "ConsentViewError",
    "Lag",
    "ViewStats",
    "deciding_record",
    "is_allowed",
]
