"""The privacy page's use cases: the customer's view of the catalogue, and one change.

Nothing is kept in auth's database: the catalogue and the choices live at the consent service
(repository.py), so there is no transaction here to commit or roll back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ciam_auth.privacy.repository import PAGE_SOURCE, Action, ConsentRepository
from ciam_auth.privacy.schemas import Consent, HistoryEntry, Purpose
from ciam_shared.tokens.scopes import FIRST_PARTY_CLIENT

CONSENT_BASIS = "dpv:Consent"
# The groups of the page, in order. The catalogue has no group field: it is derived from what
# each purpose declares (group_of), so a purpose added to the catalogue lands in a group.
GROUPS = ("communication", "personalisation", "sharing", "imported", "other")
MESSAGING_CHANNELS = frozenset({"email", "sms", "push", "post", "phone"})
IMPORT_PURPOSES = frozenset({"social-import"})
# Marketing on these channels is granted only once a mailed link is used (double opt-in).
DOUBLE_OPT_IN_CHANNELS = frozenset({"email", "sms"})


@dataclass(frozen=True)
class Control:
    """One brand or channel of a purpose that the customer changes on its own: each channel
    the catalogue lists for a purpose of several channels, and each brand or channel with a
    record of its own (e.g. one imported field)."""

    brand: str | None
    channel: str | None
    state: str
    action: Action | None


@dataclass(frozen=True)
class Reconsent:
    """What changed in the notice since the version the customer agreed to."""

    agreed_version: int
    agreed_notice: str
    current_version: int


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
    # What one click does: grant, withdraw, or None (not based on consent; an import not
    # in use).
    action: Action | None
    grantable: bool
    narrower: list[Narrower] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    # Set when the notice changed and the consent service asks for a new decision.
    reconsent: Reconsent | None = None
    # The browser sends Sec-GPC: 1 and this purpose is a sale or share: withdrawn, no grant.
    gpc_honoured: bool = False
    # A grant waits for the mailed link (double opt-in).
    double_opt_in: bool = False
    pending: bool = False


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
    """Where a change was made: on these pages (the consent service records a customer token
    of auth's pages as `source.app` = `ciam-auth`; before it did, the page named itself in
    `source.device`), in an app (its name while auth knows it), or by the collection method.
    `ciam-auth` otherwise (the social import's recorder, registered as an app of its own)
    is not an app the customer knows: its changes read by their method ("by a data
    import", "by your browser's GPC signal")."""
    device = entry.source.get("device")
    app = entry.source.get("app")
    if (isinstance(device, str) and device.startswith(PAGE_SOURCE)) or (
        app == FIRST_PARTY_CLIENT and entry.collected_via == "web"
    ):
        return ("page", None)
    if app == FIRST_PARTY_CLIENT:
        return ("via", entry.collected_via)
    if entry.source_app_name:
        return ("app", entry.source_app_name)
    if isinstance(app, str) and app:
        return ("app", app)
    return ("via", entry.collected_via)


# The state shown for a purpose recorded only per brand or channel (e.g. per imported field):
# the strongest of its records, so a purpose still in use anywhere shows as granted.
_STRENGTH = ("granted", "needs_reconsent", "withdrawn", "denied", "expired")


def _state(whole: Consent | None, narrower: list[Consent]) -> str:
    if whole is not None:
        return whole.status
    states = {c.status for c in narrower}
    return next((s for s in _STRENGTH if s in states), "never")


def double_opt_in(purpose: Purpose) -> bool:
    return group_of(purpose) == "communication" and bool(
        set(purpose.channels) & DOUBLE_OPT_IN_CHANNELS
    )


def _controls(purpose: Purpose, whole: Consent | None, narrower: list[Consent]) -> list[Control]:
    importing = group_of(purpose) == "imported"

    def control(brand: str | None, channel: str | None, state: str) -> Control:
        action: Action | None = "withdraw" if state == "granted" else "grant"
        if importing and action == "grant":
            action = None
        return Control(brand, channel, state, action)

    found: dict[tuple[str | None, str | None], Control] = {}
    if len(purpose.channels) > 1:
        for channel in purpose.channels:
            own = next((c for c in narrower if c.brand is None and c.channel == channel), None)
            state = own.status if own else (whole.status if whole else "never")
            found[(None, channel)] = control(None, channel, state)
    for c in narrower:
        found[(c.brand, c.channel)] = control(c.brand, c.channel, c.status)
    return [found[k] for k in sorted(found, key=lambda k: (k[0] or "", k[1] or ""))]


def _reconsent(purpose: Purpose, mine: list[Consent], locale: str) -> Reconsent | None:
    asked = next((c for c in mine if c.status == "needs_reconsent"), None)
    if asked is None:
        return None
    agreed = next((v for v in purpose.versions if v.version == asked.purpose_version), None)
    return Reconsent(
        agreed_version=asked.purpose_version,
        agreed_notice=_localised(agreed.notice, locale) if agreed else "",
        current_version=purpose.current_version,
    )


def _row(
    purpose: Purpose,
    consents: list[Consent],
    latest: list[HistoryEntry],
    locale: str,
    *,
    gpc: bool = False,
    pending: frozenset[str] = frozenset(),
) -> PurposeRow:
    mine = [c for c in consents if c.purpose == purpose.id]
    whole = next((c for c in mine if c.brand is None and c.channel is None), None)
    narrower = sorted(
        (c for c in mine if c is not whole), key=lambda c: (c.brand or "", c.channel or "")
    )
    last = max(
        (e for e in latest if e.purpose == purpose.id), key=lambda e: e.version, default=None
    )
    state = _state(whole, narrower)
    in_use = any(c.status == "granted" for c in mine)
    action: Action | None = None
    if in_use:
        action = "withdraw"
    elif purpose.legal_basis == CONSENT_BASIS and group_of(purpose) != "imported":
        # An import is granted field by field at a social sign-in, where there is something
        # to import; a grant on this page would import nothing.
        action = "grant"
    gpc_honoured = gpc and purpose.sale_or_share
    if gpc_honoured and action == "grant":
        action = None  # the consent service refuses it while the signal is sent (409)
    controls = _controls(purpose, whole, narrower) if purpose.legal_basis == CONSENT_BASIS else []
    if gpc_honoured:
        controls = [Control(c.brand, c.channel, c.state, None) for c in controls]
    return PurposeRow(
        id=purpose.id,
        name=_localised(purpose.names, locale),
        description=_localised(purpose.descriptions, locale),
        notice=_notice(purpose, locale),
        legal_basis=purpose.legal_basis,
        data_kinds=purpose.data_categories,
        channels=purpose.channels,
        state=state,
        changed_at=max((c.updated_at for c in mine), default=None),
        changed_by=changed_by(last) if last is not None else None,
        action=action,
        grantable=purpose.legal_basis == CONSENT_BASIS,
        narrower=[Narrower(c.brand, c.channel, c.status) for c in narrower],
        controls=controls,
        reconsent=_reconsent(purpose, mine, locale),
        gpc_honoured=gpc_honoured,
        double_opt_in=double_opt_in(purpose),
        pending=purpose.id in pending and not in_use,
    )


async def overview(
    consent: ConsentRepository,
    subject_id: uuid.UUID,
    locale: str,
    *,
    gpc: bool = False,
    pending: frozenset[str] = frozenset(),
    catalogue: list[Purpose] | None = None,
) -> list[Group]:
    """Every purpose of the catalogue in its group, with the customer's current choice.
    `gpc`: the browser sends Sec-GPC: 1 (the repository passes it on, so the consent service
    has recorded it by the time the consents are read); `pending`: purposes whose double
    opt-in link was mailed and not used yet; `catalogue`: as the caller read it already.
    Who made each purpose's last change comes from its newest history entry alone: the
    whole history grows with every change (a benchmark's customer of 300 changes spent 7% of
    the page's CPU on it)."""
    if catalogue is None:
        catalogue = await consent.catalogue()
    consents = await consent.consents_of(subject_id)
    latest = await consent.latest_of(subject_id)
    rows: dict[str, list[PurposeRow]] = {g: [] for g in GROUPS}
    for purpose in catalogue:
        row = _row(purpose, consents, latest, locale, gpc=gpc, pending=pending)
        rows[group_of(purpose)].append(row)
    return [Group(g, rows[g]) for g in GROUPS if rows[g]]


async def change(
    consent: ConsentRepository,
    subject_id: uuid.UUID,
    purpose: str,
    action: Action,
    device: str,
    *,
    brand: str | None = None,
    channel: str | None = None,
) -> int:
    """Grant a purpose for every brand and channel, or withdraw it wherever it is granted
    (the whole purpose and each brand or channel recorded on its own, e.g. imported fields)
    in one batch; with a brand or channel, that one alone. The consent service checks that
    the purpose exists and rests on consent. Returns the subject's version after it."""
    if action == "grant" or brand is not None or channel is not None:
        return await consent.change(
            subject_id, purpose, action, device=device, brand=brand, channel=channel
        )
    granted = [
        (c.brand, c.channel)
        for c in await consent.consents_of(subject_id)
        if c.purpose == purpose and c.status == "granted"
    ]
    return await consent.withdraw_all(subject_id, purpose, granted or [(None, None)], device=device)


async def needs_double_opt_in(consent: ConsentRepository, purpose_id: str) -> bool:
    """Whether a grant of this purpose waits for a mailed link (an unknown purpose: no, the
    consent service refuses it)."""
    found = next((p for p in await consent.catalogue() if p.id == purpose_id), None)
    return found is not None and double_opt_in(found)


def receipt_signature_holds(token: str, jwks: dict[str, object]) -> bool:
    """Whether the receipt's ES256 signature verifies with the consent service's published
    keys: the page checks it itself rather than trusting the stored claims."""
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        jws.deserialize_compact(token, keys, algorithms=["ES256"])
    except (JoseError, ValueError, TypeError, KeyError):
        return False
    return True
