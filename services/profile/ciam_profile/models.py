"""The profile service's schema.

- `profiles`: one row per subject, known (registered) or anonymous (a device or cookie seen
  before sign-in); `merged_into` points at the survivor when the profile was merged.
- `profile_fields`: one row per field written, tagged with its data kind; `imported_for` marks
  a value the social import wrote (the subject whose import it was), so a withdrawal removes
  exactly those and never a value the customer or an app wrote.
- `identifiers`: (kind, value) -> subject; each identifier resolves to exactly one subject.
- `tracked_events`: behavioural events stored after the consent check.
- `merges`: every merge and its undo (merges are applied at read time, so undo is exact).
Plus the shared `outbox` and `processed_events`. Every subject's row cascades to its fields,
identifiers and events, so an erasure is one delete per table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ciam_shared.db import ServiceBase, TimestampTZ, new_metadata, utcnow
from ciam_shared.inbox import processed_events_table
from ciam_shared.outbox import outbox_table


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


outbox = outbox_table(Base.metadata)
processed_events = processed_events_table(Base.metadata)


class Profile(Base):
    __tablename__ = "profiles"

    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    registered_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    known: Mapped[bool] = mapped_column(Boolean, default=True)
    # An anonymous visitor who sent Global Privacy Control: never tracked.
    gpc: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    updated_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)


class ProfileField(Base):
    __tablename__ = "profile_fields"

    subject_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.subject_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(TimestampTZ())
    # The subject whose social import wrote this value; None: written through the API.
    imported_for: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)


class Identifier(Base):
    __tablename__ = "identifiers"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(320), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.subject_id", ondelete="CASCADE"), index=True
    )
    linked_at: Mapped[datetime] = mapped_column(TimestampTZ())


class TrackedEvent(Base):
    __tablename__ = "tracked_events"
    __table_args__ = (Index("ix_tracked_events_subject_time", "subject_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.subject_id", ondelete="CASCADE")
    )
    app: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(TimestampTZ())
    received_at: Mapped[datetime] = mapped_column(TimestampTZ())
    properties: Mapped[dict[str, Any]] = mapped_column(JSON)


class Merge(Base):
    __tablename__ = "merges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    survivor_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    absorbed_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    reason: Mapped[str] = mapped_column(String(32))
    merged_by: Mapped[str] = mapped_column(String(200))
    merged_at: Mapped[datetime] = mapped_column(TimestampTZ())
    undone_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
