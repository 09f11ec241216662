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


class IdentityLinked(EventData):
    """A social identity was linked to the subject's account (at a first social sign-in or from
    the account page). `imported_fields` names the profile fields the customer allowed the
    brand to import (consent `social-import`); their values are not in the log (it cannot be
    edited): the profile reads them from the auth service's internal import API."""

    event_type: ClassVar[str] = "dev.ciam.identity.identity.linked.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    identity_id: uuid.UUID
    provider: str
    imported_fields: list[str]
    linked_at: datetime


class IdentityUnlinked(EventData):
    """A social identity was unlinked. `remove_fields`: profile fields imported through it that
    the profile must now remove."""

    event_type: ClassVar[str] = "dev.ciam.identity.identity.unlinked.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    identity_id: uuid.UUID
    provider: str
    remove_fields: list[str]
    unlinked_at: datetime


class SocialImportWithdrawn(EventData):
    """The customer withdrew (part of) the `social-import` consent: no further import of
    `remove_fields`, and the profile removes the values it imported for them."""

    event_type: ClassVar[str] = "dev.ciam.identity.social-import.withdrawn.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    identity_id: uuid.UUID
    provider: str
    remove_fields: list[str]
    withdrawn_at: datetime


class SocialImportRefreshed(EventData):
    """A returning customer signed in with a linked identity and the provider sent new values
    for fields the customer still allows: the profile reads them again (internal import API)."""

    event_type: ClassVar[str] = "dev.ciam.identity.social-import.refreshed.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    identity_id: uuid.UUID
    provider: str
    updated_fields: list[str]
    refreshed_at: datetime


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


class PasskeyAdded(EventData):
    """A passkey (WebAuthn credential) was registered to the account. No credential id, no
    name, no authenticator model: only that one was added and whether it is synced."""

    event_type: ClassVar[str] = "dev.ciam.identity.passkey.added.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    added_at: datetime
    synced: bool = False


class PasskeyRemoved(EventData):
    """A passkey was removed by the customer (or flagged and removed); the account's
    sessions ended."""

    event_type: ClassVar[str] = "dev.ciam.identity.passkey.removed.v1"
    topic_base_name: ClassVar[str] = IDENTITY_EVENTS.base_name

    subject_id: uuid.UUID
    removed_at: datetime
