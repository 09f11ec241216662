"""The data-rights tables: export requests with the parts the services sent, and deletion
requests with one step per service."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ciam_auth.models import Base
from ciam_shared.db import TimestampTZ, new_id, utcnow

COLLECTING, READY, FAILED, EXPIRED = "collecting", "ready", "failed", "expired"


class DataExport(Base):
    """A customer's request for a copy of their data. `archive` (a zip) is kept from
    `ready_at` to `expires_at`, then removed by the sweeper (status `expired`). It goes with
    the account (cascade): an archive of a deleted account would outlive its erasure."""

    __tablename__ = "data_exports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), default=COLLECTING)
    requested_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    # Every part must have arrived by then, or the export fails (no partial archive).
    deadline_at: Mapped[datetime] = mapped_column(TimestampTZ())
    ready_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True, index=True)
    archive: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # The private key the services' parts are encrypted to (ciam_shared.privacy), sealed under
    # AUTH_KEY_ENCRYPTION_SECRET; dropped when the export ends, which leaves the parts still
    # in the Kafka log unreadable.
    part_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    archive_size: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DataExportPart(Base):
    """One service's answer: its JSON document (`status` ready), or why there is none."""

    __tablename__ = "data_export_parts"

    export_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("data_exports.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    document: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)


class DeletionRequest(Base):
    """An account deletion, tracked until every service confirmed its erasure.

    No foreign key: the account is gone when this row is written. `email` is kept only to
    send the closing mail and cleared when that mail is queued; `token_hash` is the SHA-256
    of the status page's link token (the token itself is only in the mail and the redirect).
    """

    __tablename__ = "deletion_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    locale: Mapped[str] = mapped_column(String(8))
    requested_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(TimestampTZ(), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)


class DeletionStep(Base):
    """One service's erasure of a deleted subject, confirmed over Kafka (`ErasureConfirmed`)."""

    __tablename__ = "deletion_steps"

    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("deletion_requests.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(20), primary_key=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
