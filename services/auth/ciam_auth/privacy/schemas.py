"""The consent API's answers as this page reads them: only the fields it shows, the rest of
each answer ignored (the consent service may add fields without breaking the page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class NoticeVersion(Read):
    version: int
    notice: dict[str, str]
    published_at: datetime | None = None


class Purpose(Read):
    id: str
    names: dict[str, str]
    descriptions: dict[str, str]
    legal_basis: str
    data_categories: list[str]
    channels: list[str]
    sale_or_share: bool
    current_version: int
    min_valid_version: int = 1
    versions: list[NoticeVersion]


class Consent(Read):
    purpose: str
    brand: str | None
    channel: str | None
    status: str
    updated_at: datetime
    purpose_version: int = 1


class Consents(Read):
    consents: list[Consent]


class HistoryEntry(Read):
    version: int
    purpose: str
    brand: str | None
    channel: str | None
    status: str
    collected_via: str
    source: dict[str, Any]
    source_app_name: str | None = None
    occurred_at: datetime
    purpose_version: int = 1
    entry_hash: str = ""


class History(Read):
    chain_valid: bool = True
    first_broken_version: int | None = None
    entries: list[HistoryEntry]


class Latest(Read):
    """Each purpose's newest change (`GET /history/latest`)."""

    entries: list[HistoryEntry]


class Receipt(Read):
    """A change's signed receipt: the compact JWS and its claims as the consent service
    stored them (the page verifies the signature itself against the published key)."""

    receipt: dict[str, Any]
    jws: str
    jwks_url: str


class PropagationEntry(Read):
    version: int
    purpose: str
    status: str
    occurred_at: datetime
    applied: dict[str, datetime]
    pending: list[str]


class Propagation(Read):
    subscribers: list[str]
    changes: list[PropagationEntry]


class Applied(Read):
    """The answer to a change: the subject's version after it (what the propagation proof of
    this change is looked up by)."""

    version: int
