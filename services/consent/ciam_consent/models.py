"""The consent service's schema.

- `purposes` and `purpose_versions`: the catalogue; each version keeps its notice and its hash.
- `subjects`: one row per customer, holding the consent version and the head of the history
  chain; locked for update while a change is applied, so versions never fork.
- `consent_records`: the current status per subject x purpose x brand x channel ("" = any).
- `consent_history`: append-only; every entry carries the previous entry's hash.
- `subscribers` and `propagation_acks`: who applied which subject version, and when.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from ciam_shared.db import ServiceBase, TimestampTZ, new_id, new_metadata, utcnow
from ciam_shared.inbox import processed_events_table
from ciam_shared.outbox import outbox_table

ANY = ""  # brand/channel of a record that applies to every brand/channel


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


outbox = outbox_table(Base.metadata)
processed_events = processed_events_table(Base.metadata)


class Subject(Base):
    __tablename__ = "subjects"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    registered_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    known_since: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)


class Purpose(Base):
    __tablename__ = "purposes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    descriptions: Mapped[dict[str, str]] = mapped_column(JSON)
    legal_basis: Mapped[str] = mapped_column(String(64))
    data_categories: Mapped[list[str]] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    sale_or_share: Mapped[bool] = mapped_column(Boolean, default=False)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    min_valid_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)


class PurposeVersion(Base):
    __tablename__ = "purpose_versions"

    purpose_id: Mapped[str] = mapped_column(ForeignKey("purposes.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice: Mapped[dict[str, str]] = mapped_column(JSON)
    notice_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)


class ConsentRecord(Base):
    __tablename__ = "consent_records"
    __table_args__ = (UniqueConstraint("subject_id", "purpose_id", "brand", "channel"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), index=True)
    purpose_id: Mapped[str] = mapped_column(ForeignKey("purposes.id"), index=True)
    brand: Mapped[str] = mapped_column(String(100), default=ANY)
    channel: Mapped[str] = mapped_column(String(50), default=ANY)
    status: Mapped[str] = mapped_column(String(20))
    purpose_version: Mapped[int] = mapped_column(Integer)
    collected_via: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(TimestampTZ())
    expires_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True, index=True)


class HistoryEntry(Base):
    __tablename__ = "consent_history"
    __table_args__ = (UniqueConstraint("subject_id", "version"),)

    id: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    version: Mapped[int] = mapped_column(Integer)
    purpose_id: Mapped[str] = mapped_column(String(64))
    purpose_version: Mapped[int] = mapped_column(Integer)
    notice_hash: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    collected_via: Mapped[str] = mapped_column(String(20))
    source: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(TimestampTZ())
    expires_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    previous_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    receipt: Mapped[str] = mapped_column(Text)  # compact JWS, signed when the change was made


class Subscriber(Base):
    __tablename__ = "subscribers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(TimestampTZ())


class PropagationAck(Base):
    __tablename__ = "propagation_acks"
    # The key starts with the subscriber; `/propagation` (the privacy page's live proof polls
    # it) reads one subject's acknowledgements from a version on.
    __table_args__ = (Index("ix_propagation_acks_subject_id_version", "subject_id", "version"),)

    subscriber: Mapped[str] = mapped_column(ForeignKey("subscribers.name"), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    applied_at: Mapped[datetime] = mapped_column(TimestampTZ())
    received_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
