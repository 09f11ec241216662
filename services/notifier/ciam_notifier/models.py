"""The notifier's schema: webhook subscriptions and their deliveries (the delivery log)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ciam_shared.db import ServiceBase, TimestampTZ, new_id, new_metadata, utcnow
from ciam_shared.inbox import processed_events_table
from ciam_shared.outbox import outbox_table


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


outbox = outbox_table(Base.metadata)
processed_events = processed_events_table(Base.metadata)

# Bumped by a trigger (migration 0008) in the transaction of every change to `subscriptions`:
# the consent-change consumer's in-memory index is current while it matches.
subscription_index_version = Table(
    "subscription_index_version",
    Base.metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("version", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    app: Mapped[str] = mapped_column(String(200), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)  # empty: every consent change
    purposes: Mapped[list[str]] = mapped_column(JSON)  # empty: every purpose
    brands: Mapped[list[str]] = mapped_column(JSON)  # empty: every brand
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        # The ordering check of due_deliveries looks up a subject's earlier pending deliveries.
        Index(
            "ix_deliveries_pending_order",
            "subscription_id",
            "subject_id",
            "seq",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=new_id)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TimestampTZ())
    first_attempt_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    # The fan-out's W3C traceparent (None while tracing is off): a retry in a later round
    # stays in the consent change's trace.
    traceparent: Mapped[str | None] = mapped_column(String(64), nullable=True)


class StreamEvent(Base):
    """Consent changes kept for live streams: the seq is the SSE event id a client resumes
    from (Last-Event-ID)."""

    __tablename__ = "stream_events"

    seq: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    event_type: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)


class Suppression(Base):
    """Who must not get marketing of a purpose on a channel: set by a withdrawal (or denial,
    expiry, reconsent) at once, lifted by a new grant."""

    __tablename__ = "suppressions"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    since: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)


class Message(Base):
    """A message to a customer: marketing an app asked for, or the notifier's own confirmation
    of a consent change. `idempotency_key` is unique, so one (event, channel, subject) is
    queued once; it is the email's Message-ID and the SMS gateway's Idempotency-Key.

    Status: queued | held -> claimed (committed before anything leaves) -> handed_over (email:
    committed right before the final dot of DATA) -> sent; or refused | failed | cancelled.
    `claim_token` fences a claim: a worker whose lease was taken over can no longer finish.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_due", "status", "not_before"),
        Index("ix_messages_claims", "status", "claimed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), server_default="marketing")
    app: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    brand: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # A confirmation's address is asked of the auth service when it is sent and never stored.
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    # A confirmation's consent change (status, purpose, channel, brand): no personal data.
    change: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    not_before: Mapped[datetime] = mapped_column(TimestampTZ())
    claim_token: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
