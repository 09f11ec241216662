"""Profile events, published by the profile service on PROFILE_EVENTS.

They carry ids, field names and kinds, never field values: the log cannot be edited, so
personal data stays in the profile database, where erasure can reach it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from ciam_shared.events.envelope import EventData
from ciam_shared.topics import PROFILE_EVENTS


class ProfileCreated(EventData):
    """A customer profile now exists for the subject: from its registration, or for an
    anonymous visitor (`anonymous`, no cause event)."""

    event_type: ClassVar[str] = "dev.ciam.profile.created.v1"
    topic_base_name: ClassVar[str] = PROFILE_EVENTS.base_name

    subject_id: uuid.UUID
    created_at: datetime
    cause_event_id: uuid.UUID | None = None
    anonymous: bool = False


class ProfileUpdated(EventData):
    """Fields of the subject's profile were written (names and data kinds, not values)."""

    event_type: ClassVar[str] = "dev.ciam.profile.updated.v1"
    topic_base_name: ClassVar[str] = PROFILE_EVENTS.base_name

    subject_id: uuid.UUID
    fields: list[str]
    kinds: list[str]
    updated_by: str = Field(max_length=200)
    updated_at: datetime


class IdentifierLinked(EventData):
    """An identifier (email, phone, device, ...) now resolves to the subject (kind only)."""

    event_type: ClassVar[str] = "dev.ciam.profile.identifier-linked.v1"
    topic_base_name: ClassVar[str] = PROFILE_EVENTS.base_name

    subject_id: uuid.UUID
    kind: str
    linked_at: datetime


class ProfilesMerged(EventData):
    """`absorbed_subject_id` turned out to be the same person as `subject_id` (the survivor):
    reads of either now return the merged profile. `reason`: sign-in (an anonymous device
    became known) or manual. Undone by `ProfileMergeUndone` with the same `merge_id`."""

    event_type: ClassVar[str] = "dev.ciam.profile.merged.v1"
    topic_base_name: ClassVar[str] = PROFILE_EVENTS.base_name

    subject_id: uuid.UUID
    absorbed_subject_id: uuid.UUID
    merge_id: uuid.UUID
    reason: str
    merged_at: datetime


class ProfileMergeUndone(EventData):
    """A wrong merge was undone: both subjects are separate profiles again."""

    event_type: ClassVar[str] = "dev.ciam.profile.merge-undone.v1"
    topic_base_name: ClassVar[str] = PROFILE_EVENTS.base_name

    subject_id: uuid.UUID
    absorbed_subject_id: uuid.UUID
    merge_id: uuid.UUID
    undone_at: datetime


class ProfileErased(EventData):
    """Everything the profile service held about the subject (and the anonymous profiles
    merged into it, `erased_subject_ids`) is deleted, including its cache."""

    event_type: ClassVar[str] = "dev.ciam.profile.erased.v1"
    topic_base_name: ClassVar[str] = PROFILE_EVENTS.base_name

    subject_id: uuid.UUID
    erased_subject_ids: list[uuid.UUID]
    erased_at: datetime
    cause_event_id: uuid.UUID
