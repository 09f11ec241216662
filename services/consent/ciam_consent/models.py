"""The consent service's schema (foundation: known subjects), outbox and processed events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ciam_shared.db import ServiceBase, TimestampTZ, new_metadata, utcnow
from ciam_shared.inbox import processed_events_table
from ciam_shared.outbox import outbox_table


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


outbox = outbox_table(Base.metadata)
processed_events = processed_events_table(Base.metadata)


class Subject(Base):
    """A customer the consent service knows of (from the auth service's identity events)."""

    __tablename__ = "subjects"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(TimestampTZ())
    known_since: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
