"""The JSON shapes of the accounts API and /v1/me."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, EmailStr, Field, model_validator

from ciam_auth.sessions.schemas import Code, OptionalCode, Password, Strict

# The current password: absent for a password-less account, which re-authenticates through a
# linked provider instead (docs/services/auth.md, "Re-authentication").
CurrentPassword = Field(default="", max_length=1024)


class RegistrationIn(Strict):
    email: EmailStr
    password: str = Password
    locale: str | None = Field(default=None, max_length=35)


class Accepted(BaseModel):
    """The same answer whether or not the address has an account."""

    status: str = "accepted"
    detail: str


class VerificationIn(Strict):
    """Either the link's token, or the address and the code from the email."""

    token: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    code: str | None = OptionalCode

    @model_validator(mode="after")
    def _token_or_code(self) -> VerificationIn:
        if not self.token and not (self.email and self.code):
            raise ValueError("give either token, or email and code")
        return self


class ResetRequestIn(Strict):
    email: EmailStr
    locale: str | None = Field(default=None, max_length=35)


class ResetConfirmIn(VerificationIn):
    new_password: str = Password


class MeOut(BaseModel):
    subject_id: uuid.UUID
    email: str | None  # a social account whose provider vouched for no address has none
    email_verified: bool
    totp_enabled: bool
    recovery_codes_left: int
    # False: a social-only account; its sensitive changes need a re-authentication through a
    # linked provider, which counts until `reauthenticated_until`.
    has_password: bool
    reauthenticated_until: datetime | None


class PasswordChangeIn(Strict):
    current_password: str = CurrentPassword
    new_password: str = Password


class EmailChangeIn(Strict):
    password: str = CurrentPassword
    new_email: EmailStr


class PasswordConfirmIn(Strict):
    password: str = CurrentPassword


class TotpEnrollmentOut(BaseModel):
    secret: str
    otpauth_uri: str


class TotpConfirmIn(Strict):
    code: str = Code


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]
