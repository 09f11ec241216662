"""The JSON shapes of the linked-identities API and the internal import API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class IdentityOut(BaseModel):
    id: uuid.UUID
    provider: str
    linked_at: datetime
    last_used_at: datetime
    imported_fields: list[str]


class IdentitiesOut(BaseModel):
    identities: list[IdentityOut]
    has_password: bool
    csrf_token: str


class ImportOut(BaseModel):
    subject_id: uuid.UUID
    # field -> {claim: value}; only fields the customer allows today
    fields: dict[str, Any]
