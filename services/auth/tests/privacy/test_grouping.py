"""Which group of the page each purpose of the shipped catalogue lands in (the catalogue has no
group field: the page derives it from what a purpose declares)."""

from __future__ import annotations

import json
from importlib import resources

from ciam_auth.privacy.schemas import Purpose
from ciam_auth.privacy.service import group_of


def _catalogue() -> list[Purpose]:
    raw = json.loads(resources.files("ciam_consent").joinpath("catalogue.json").read_text())
    return [Purpose.model_validate(p | {"current_version": 1, "versions": []}) for p in raw]


def test_every_purpose_of_the_shipped_catalogue_lands_in_its_group() -> None:
    assert {p.id: group_of(p) for p in _catalogue()} == {
        "email-marketing": "communication",
        "sms-marketing": "communication",
        "personalisation": "personalisation",
        "analytics": "personalisation",
        "partner-sharing": "sharing",
        "social-import": "imported",
        "order-fulfilment": "other",
    }


def test_a_new_purpose_lands_by_what_it_declares() -> None:
    base = _catalogue()[0]
    push = base.model_copy(update={"id": "push-offers", "channels": ["push"]})
    sale = base.model_copy(update={"id": "data-broker", "channels": ["web"], "sale_or_share": True})
    loyalty = base.model_copy(update={"id": "loyalty", "channels": ["web", "email"]})
    legal = base.model_copy(update={"id": "tax", "legal_basis": "dpv:LegalObligation"})
    assert [group_of(p) for p in (push, sale, loyalty, legal)] == [
        "communication", "sharing", "personalisation", "other",
    ]  # fmt: skip
