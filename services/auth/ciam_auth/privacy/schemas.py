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


class Purpose(Read):
    id: str
    names: dict[str, str]
    descriptions: dict[str, str]
    legal_basis: str
    data_categories: list[str]
    channels: list[str]
    sale_or_share: bool
    current_version: int
    versions: list[NoticeVersion]


class Consent(Read):
    purpose: str
    brand: str | None
    channel: str | None
    status: str
    updated_at: datetime


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


class History(Read):
    entries: list[HistoryEntry]
