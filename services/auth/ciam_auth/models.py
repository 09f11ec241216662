"""The auth service's schema: accounts, their email tokens and recovery codes, the durable mail
and job queues, plus the shared outbox and processed-events tables. Sessions and throttling
counters live in Redis."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, Uuid
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
    # None: a social-only account whose provider did not vouch for an address (an unverified
    # address is never stored as the account's, so it cannot block its real owner).
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    # None: a social-only account (signs in through a linked identity, has no password).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    email_verified_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    # The language of the customer's emails (pl or en), from the page they registered on.
    locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # TOTP: the confirmed secret, the one awaiting confirmation, and the last accepted time step
    # (a code is never accepted twice).
    # Sealed (AES-GCM under AUTH_KEY_ENCRYPTION_SECRET, bound to the account):
    # `ciam_auth.adapters.sealing`.
    totp_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    totp_pending_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None


class EmailToken(Base):
    """A link (random token) and a 6-digit code mailed to an address: verify it, or reset.

    Only hashes are kept. `email` is the address the token proves (for an email change, the
    new one). A token is used once; a code is burnt after a few wrong tries.
    """

    __tablename__ = "email_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TimestampTZ())
    used_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)

    __table_args__ = (Index("ix_email_tokens_email_purpose", "email", "purpose"),)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(TimestampTZ(), nullable=True)


class OAuthClient(Base):
    """A brand app: an OIDC client. The secret is stored as a SHA-256 of a 256-bit random
    value (a slow hash adds nothing to a secret that cannot be guessed)."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str | None] = mapped_column(String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    purposes: Mapped[list[str]] = mapped_column(JSON)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    auth_method: Mapped[str] = mapped_column(String(32))
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # Public keys of a private_key_jwt client (it has no secret).
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The privacy pages' look for this app (display name, logo, colours; checked by
    # oidc/branding.py) and the origins that may frame them (`frame-ancestors`).
    branding: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    embed_origins: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)


class ClientGrant(Base):
    """Scopes a customer allowed a third-party app on the consent screen."""

    __tablename__ = "client_grants"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)


class RefreshToken(Base):
    """One refresh token of a family. Rotation marks it used; reusing a used one revokes the
    family (RFC 9700 4.14.2)."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(1000))
    auth_time: Mapped[datetime] = mapped_column(TimestampTZ())
    issued_at: Mapped[datetime] = mapped_column(TimestampTZ())
    expires_at: Mapped[datetime] = mapped_column(TimestampTZ())
    used_at: Mapped[datetime | None] = mapped_column(TimestampTZ())
    revoked_at: Mapped[datetime | None] = mapped_column(TimestampTZ())


class SigningKey(Base):
    """A token signing key. The private JWK is encrypted at rest; a retired key stays
    published until `retire_at + overlap` so tokens it signed keep verifying."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_jwk: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(TimestampTZ())


class OutgoingMail(Base):
    """A mail to send, staged in the transaction of the state it belongs to (mailer.py): a
    rollback sends nothing, a commit always sends. The row is deleted once the SMTP server took
    it (the body may hold a one-time code: it is kept no longer than needed), or when it is
    given up (`give_up_at`: never later than the link or code in it expires)."""

    __tablename__ = "outgoing_mail"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    # Fixed when staged: a mail sent twice (a crash after the SMTP server took it) carries the
    # same Message-ID, which lets the receiving side drop the copy.
    message_id: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    # A sender claims a row by moving this into the future (a lease): the other senders skip
    # it; a sender that dies lets the lease run out and another one sends the mail.
    next_attempt_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow, index=True)
    give_up_at: Mapped[datetime] = mapped_column(TimestampTZ())


class AccountJob(Base):
    """Account work done after the answer left (jobs.py): registration (`register`: create the
    account or mail "already registered") and reset requests (`reset`). The request commits
    the row; a worker does the work and deletes the row in one transaction. Never a plaintext
    password: only its argon2 hash, computed in the request for every address alike."""

    __tablename__ = "account_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    channel: Mapped[str] = mapped_column(String(20), default="web")
    # What a job kind needs beyond the address (a passkey registration: the verified
    # credential's public parts, never a secret).
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(TimestampTZ(), default=utcnow, index=True)
