"""The JSON shapes of sign-in."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from ciam_auth.sessions.store import Session

# Length limits here only stop absurd bodies; the password policy (8 to 128 characters after
# NFKC, not a common password) is the use case's, with its own problem type.
Password = Field(min_length=1, max_length=1024)
Code = Field(min_length=6, max_length=32)
OptionalCode = Field(default=None, min_length=6, max_length=32)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignInIn(Strict):
    email: EmailStr
    password: str = Password
    channel: str = Field(default="api", max_length=30)


class SecondStepIn(Strict):
    mfa_token: str = Field(max_length=200)
    code: str | None = OptionalCode
    recovery_code: str | None = Field(default=None, max_length=40)
    channel: str = Field(default="api", max_length=30)


class SessionOut(BaseModel):
    id: str
    device: str
    channel: str
    created_at: datetime
    last_seen: datetime
    current: bool = False


class SignInOut(BaseModel):
    """`session` when signed in; `mfa_required` and `mfa_token` when the TOTP step is due."""

    mfa_required: bool = False
    mfa_token: str | None = None
    session: SessionOut | None = None
    subject_id: uuid.UUID | None = None


def session_out(session: Session, current: Session | None = None) -> SessionOut:
    return SessionOut(
        id=session.id,
        device=session.device,
        channel=session.channel,
        created_at=session.created_at,
        last_seen=session.last_seen,
        current=current is not None and current.id == session.id,
    )
