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


class EmailVerified(EventData):
    """The customer proved they receive mail at their (new) address. The address stays in auth."""

    event_type: ClassVar[str] = "dev.ciam.identity.email.verified.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    verified_at: datetime


class UserSignedIn(EventData):
    """A session started. `device` is a coarse label ("Firefox on Linux"), never the raw
    user agent or the address; `methods` are the authentication methods (RFC 8176 amr)."""

    event_type: ClassVar[str] = "dev.ciam.identity.user.signed-in.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    signed_in_at: datetime
    channel: str
    device: str
    methods: list[str]


class PasswordChanged(EventData):
    """The password changed (by the customer, or through a reset); other sessions ended."""

    event_type: ClassVar[str] = "dev.ciam.identity.password.changed.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    changed_at: datetime
    through_reset: bool = False


class SecondFactorChanged(EventData):
    """A second factor was enabled or disabled, or recovery codes were used up or renewed."""

    event_type: ClassVar[str] = "dev.ciam.identity.second-factor.changed.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    changed_at: datetime
    method: str = "totp"
    enabled: bool
