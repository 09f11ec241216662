"""The auth service's schema: accounts, plus the shared outbox and processed-events tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ciam_shared.db import ServiceBase, TimestampTZ, new_id, new_metadata, utcnow
from ciam_shared.inbox import processed_events_table
from ciam_shared.outbox import outbox_table


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


outbox = outbox_table(Base.metadata)
processed_events = processed_events_table(Base.metadata)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
