"""Profile events, published by the profile service on PROFILE_EVENTS."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from ciam_shared.events.envelope import EventData
from ciam_shared.topics import PROFILE_EVENTS


class ProfileCreated(EventData):
    """A customer profile now exists for the subject (created from its registration)."""

    event_type: ClassVar[str] = "dev.ciam.profile.created.v1"
    topic_base_name: ClassVar[str] = PROFILE_EVENTS.base_name

    subject_id: uuid.UUID
    created_at: datetime
    cause_event_id: uuid.UUID
