"""The profile's fields: each has one data kind (the catalogue's data categories) and one
merge rule. Values are validated here; an unknown field name is refused, never stored.

Merge rules (a merged profile is assembled from every profile in its cluster at read time):
- SURVIVOR: the survivor's value; another member's only where the survivor has none (the
  most recently written of them). Identity data: the known account's is the one to trust.
- LATEST: the most recently written value of any member wins.
- UNION: list values are joined, the survivor's first, without duplicates.
- Derived behavioural fields are computed from the tracked events of every member.
Consents are not fields: for a merged profile the most restrictive consent wins (see gate.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model


class DataKind(StrEnum):
    IDENTITY = "identity"
    DESCRIPTIVE = "descriptive"
    ATTITUDINAL = "attitudinal"
    BEHAVIOURAL = "behavioural"


class MergeRule(StrEnum):
    SURVIVOR = "survivor"
    LATEST = "latest"
    UNION = "union"
    DERIVED = "derived"


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
Scalar = str | int | float | bool


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(_Value):
    line1: Text
    line2: Text | None = None
    city: Text
    postal_code: Annotated[str, StringConstraints(max_length=20)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Household(_Value):
    size: int = Field(ge=1, le=50)
    children: int | None = Field(default=None, ge=0, le=50)


class Job(_Value):
    title: Text
    industry: Text | None = None
    employer: Text | None = None


class Demographics(_Value):
    gender: Text | None = None
    age_band: Annotated[str, StringConstraints(pattern=r"^\d{2}-\d{2}|\d{2}\+$")] | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] | None = None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: DataKind
    rule: MergeRule
    type: Any  # the pydantic type of the value; None for a derived, read-only field


EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$"
PHONE = r"^\+[1-9]\d{6,14}$"  # E.164
# A picture is a link to an image the customer chose (their social profile's, usually).
PICTURE = r"^https?://[^\s]{1,2040}$"
# A BCP 47 language tag (OIDC's `locale`): "fr", "fr-CA", "zh-Hant-TW".
LOCALE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"

FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("name", DataKind.IDENTITY, MergeRule.SURVIVOR, Text),
        FieldSpec(
            "email",
            DataKind.IDENTITY,
            MergeRule.SURVIVOR,
            Annotated[str, StringConstraints(pattern=EMAIL, max_length=320)],
        ),
        FieldSpec(
            "phone", DataKind.IDENTITY, MergeRule.SURVIVOR, Annotated[str, Field(pattern=PHONE)]
        ),
        FieldSpec("birthday", DataKind.IDENTITY, MergeRule.SURVIVOR, date),
        # A photo identifies the person: identity data, like the name.
        FieldSpec(
            "picture",
            DataKind.IDENTITY,
            MergeRule.SURVIVOR,
            Annotated[str, StringConstraints(pattern=PICTURE, max_length=2048)],
        ),
        # The language the customer reads: describes them, identifies no one.
        FieldSpec(
            "locale",
            DataKind.DESCRIPTIVE,
            MergeRule.LATEST,
            Annotated[str, StringConstraints(pattern=LOCALE, max_length=35)],
        ),
        FieldSpec("address", DataKind.DESCRIPTIVE, MergeRule.LATEST, Address),
        FieldSpec("household", DataKind.DESCRIPTIVE, MergeRule.LATEST, Household),
        FieldSpec("job", DataKind.DESCRIPTIVE, MergeRule.LATEST, Job),
        FieldSpec("demographics", DataKind.DESCRIPTIVE, MergeRule.LATEST, Demographics),
        FieldSpec(
            "preferences",
            DataKind.ATTITUDINAL,
            MergeRule.LATEST,
            Annotated[dict[Key, Scalar], Field(max_length=50)],
        ),
        FieldSpec(
            "interests",
            DataKind.ATTITUDINAL,
            MergeRule.UNION,
            Annotated[list[Text], Field(max_length=100)],
        ),
        FieldSpec(
            "satisfaction",
            DataKind.ATTITUDINAL,
            MergeRule.LATEST,
            Annotated[int, Field(ge=0, le=10)],
        ),
        FieldSpec(
            "traits",
            DataKind.BEHAVIOURAL,
            MergeRule.LATEST,
            Annotated[dict[Key, Scalar], Field(max_length=50)],
        ),
        # Derived from tracked events, never written.
        FieldSpec("visits", DataKind.BEHAVIOURAL, MergeRule.DERIVED, None),
        FieldSpec("purchases", DataKind.BEHAVIOURAL, MergeRule.DERIVED, None),
        FieldSpec("app_use", DataKind.BEHAVIOURAL, MergeRule.DERIVED, None),
        FieldSpec("last_seen_channel", DataKind.BEHAVIOURAL, MergeRule.DERIVED, None),
        FieldSpec("last_seen_at", DataKind.BEHAVIOURAL, MergeRule.DERIVED, None),
    )
}
WRITABLE = {name: spec for name, spec in FIELDS.items() if spec.type is not None}

# Tracked event types that feed the derived counters.
COUNTED = {"page_view": "visits", "purchase": "purchases", "app_open": "app_use"}


def _patch_model() -> type[BaseModel]:
    """Every writable field optional; null deletes it; any other name is refused (422)."""
    definitions: dict[str, Any] = {
        name: (spec.type | None, None) for name, spec in WRITABLE.items()
    }
    model: type[BaseModel] = create_model(
        "ProfileFields", __config__=ConfigDict(extra="forbid"), **definitions
    )
    return model


FieldsPatch = _patch_model()
