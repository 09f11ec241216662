"""The privacy page's use cases: the customer's view of the catalogue, and one change.

Nothing is kept in auth's database: the catalogue and the choices live at the consent service
(repository.py), so there is no transaction here to commit or roll back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from ciam_auth.privacy.repository import PAGE_SOURCE, Action, ConsentRepository
from ciam_auth.privacy.schemas import Consent, HistoryEntry, Purpose

CONSENT_BASIS = "dpv:Consent"
# The groups of the page, in order. The catalogue has no group field: it is derived from what
# each purpose declares (group_of), so a purpose added to the catalogue lands in a group.
GROUPS = ("communication", "personalisation", "sharing", "imported", "other")
MESSAGING_CHANNELS = frozenset({"email", "sms", "push", "post", "phone"})
IMPORT_PURPOSES = frozenset({"social-import"})


@dataclass(frozen=True)
class Narrower:
    """A choice recorded for one brand or channel of a purpose (e.g. one imported field)."""

    brand: str | None
    channel: str | None
    state: str


@dataclass(frozen=True)
class PurposeRow:
    id: str
    name: str
    description: str
    notice: str
    legal_basis: str
    data_kinds: list[str]
    channels: list[str]
    # granted, withdrawn, denied, expired, needs_reconsent, or never (nothing recorded).
    state: str
    changed_at: datetime | None
    # Who made the last change: ("page", None), ("app", name), ("via", collection method).
    changed_by: tuple[str, str | None] | None
    # What one click does: grant, withdraw, or None (a purpose not based on consent).
    action: Action | None
    narrower: list[Narrower] = field(default_factory=list)


@dataclass(frozen=True)
class Group:
    id: str
    purposes: list[PurposeRow]


def group_of(purpose: Purpose) -> str:
    if purpose.legal_basis != CONSENT_BASIS:
        return "other"
    if purpose.sale_or_share:
        return "sharing"
    if purpose.id in IMPORT_PURPOSES or purpose.id.endswith("-import"):
        return "imported"
    if purpose.channels and set(purpose.channels) <= MESSAGING_CHANNELS:
        return "communication"
    return "personalisation"


def _localised(values: dict[str, str], locale: str) -> str:
    return values.get(locale) or values.get("en") or next(iter(values.values()), "")


def _notice(purpose: Purpose, locale: str) -> str:
    current = [v for v in purpose.versions if v.version == purpose.current_version]
    return _localised(current[0].notice, locale) if current else ""


def changed_by(entry: HistoryEntry) -> tuple[str, str | None]:
    device = entry.source.get("device")
    if isinstance(device, str) and device.startswith(PAGE_SOURCE):
        return ("page", None)
    app = entry.source_app_name or entry.source.get("app")
    if isinstance(app, str) and app:
        return ("app", app)
    return ("via", entry.collected_via)


def _row(
    purpose: Purpose, consents: list[Consent], history: list[HistoryEntry], locale: str
) -> PurposeRow:
    mine = [c for c in consents if c.purpose == purpose.id]
    whole = next((c for c in mine if c.brand is None and c.channel is None), None)
    last = max(
        (e for e in history if e.purpose == purpose.id and e.brand is None and e.channel is None),
        key=lambda e: e.version,
        default=None,
    )
    state = whole.status if whole is not None else "never"
    action: Action | None = None
    if purpose.legal_basis == CONSENT_BASIS:
        action = "withdraw" if state == "granted" else "grant"
    return PurposeRow(
        id=purpose.id,
        name=_localised(purpose.names, locale),
        description=_localised(purpose.descriptions, locale),
        notice=_notice(purpose, locale),
        legal_basis=purpose.legal_basis,
        data_kinds=purpose.data_categories,
        channels=purpose.channels,
        state=state,
        changed_at=whole.updated_at if whole is not None else None,
        changed_by=changed_by(last) if last is not None else None,
        action=action,
        narrower=[
            Narrower(c.brand, c.channel, c.status)
            for c in sorted(mine, key=lambda c: (c.brand or "", c.channel or ""))
            if c is not whole
        ],
    )


async def overview(consent: ConsentRepository, subject_id: uuid.UUID, locale: str) -> list[Group]:
    """Every purpose of the catalogue in its group, with the customer's current choice."""
    catalogue = await consent.catalogue()
    consents = await consent.consents_of(subject_id)
    history = await consent.history_of(subject_id)
    rows: dict[str, list[PurposeRow]] = {g: [] for g in GROUPS}
    for purpose in catalogue:
        rows[group_of(purpose)].append(_row(purpose, consents, history, locale))
    return [Group(g, rows[g]) for g in GROUPS if rows[g]]


async def change(
    consent: ConsentRepository, subject_id: uuid.UUID, purpose: str, action: Action, device: str
) -> None:
    """Grant or withdraw one purpose for every brand and channel (the consent service checks
    that the purpose exists and rests on consent)."""
    await consent.change(subject_id, purpose, action, device=device)
