"""HTTP shapes of the passkey API. A WebAuthn response is passed on as the JSON the browser
made of it (PublicKeyCredential.toJSON()); py_webauthn parses and checks it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: dict[str, Any]
    # The page's CSRF token (a sign-in changes the session: login CSRF).
    csrf: str = Field(default="", max_length=100)
    return_to: str | None = Field(default=None, max_length=2000)


class SignedInOut(BaseModel):
    redirect: str
    amr: list[str]


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: dict[str, Any]
    name: str = Field(default="", max_length=64)


class RenameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)


class PasskeyOut(BaseModel):
    id: uuid.UUID
    name: str
    model: str | None
    created_at: datetime
    last_used_at: datetime | None
    synced: bool
    backed_up: bool
    flagged: bool


class SignUpOptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    csrf: str = Field(default="", max_length=100)
    locale: str = Field(default="en", pattern="^(en|pl)$")


class SignUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: dict[str, Any]
    csrf: str = Field(default="", max_length=100)


class Accepted(BaseModel):
    detail: str = "Check your inbox to confirm the address."
