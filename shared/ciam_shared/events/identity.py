"""Identity events, published by the auth service on IDENTITY_EVENTS."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from ciam_shared.events.envelope import EventData
from ciam_shared.topics import IDENTITY_EVENTS


class UserRegistered(EventData):
    """A customer account was created. Carries no personal data: the log cannot be edited."""

    event_type: ClassVar[str] = "dev.ciam.identity.user.registered.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    registered_at: datetime
    channel: str = "web"


class UserDeleted(EventData):
    """A customer account was deleted: every service erases what it holds about the subject."""

    event_type: ClassVar[str] = "dev.ciam.identity.user.deleted.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    deleted_at: datetime
