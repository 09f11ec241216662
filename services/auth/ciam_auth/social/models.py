"""Linked identities: an upstream account (issuer, subject) belongs to one local account.
Never keyed by email: an email changes hands, an (issuer, subject) pair does not."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ciam_auth.models import Base
from ciam_shared.db import TimestampTZ, new_id, utcnow


class LinkedIdentity(Base):
    __tablename__ = "linked_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # Deleting an account deletes its identities with it.
    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    # Fields the customer allowed the brand to import (consent `social-import`), and the
    # values imported from the provider for those fields only. Withdrawal empties both.
    import_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    imported: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
