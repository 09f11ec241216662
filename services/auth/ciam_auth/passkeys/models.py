"""Passkeys: a WebAuthn credential (its id and public key) belongs to one account.

Never a secret: the private key stays in the authenticator. The credential id is unique across
all accounts, so a credential registered to one account cannot be added to another.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ciam_auth.models import Base
from ciam_shared.db import TimestampTZ, new_id, utcnow


class Passkey(Base):
    __tablename__ = "passkeys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # Deleting an account deletes its passkeys with it.
    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # base64url of the raw credential id (at most 1023 bytes by WebAuthn L3).
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # The authenticator model (attestation "none" still carries it); shown by name if known.
    aaguid: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(64))
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Backup eligible (BE): a synced passkey (multi-device); its counter means nothing.
    synced: Mapped[bool] = mapped_column(Boolean, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    # Set when a device-bound credential's signature counter went backwards (a clone): the
    # credential no longer signs in until the customer removes it.
    flagged_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
