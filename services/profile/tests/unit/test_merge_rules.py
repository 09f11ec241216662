"""The merge rules per field, on rows as the database holds them (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ciam_profile.models import ProfileField
from ciam_profile.service.reading import derived_fields, merged_fields

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def row(subject: uuid.UUID, name: str, value: object, minutes: int) -> ProfileField:
    return ProfileField(
        subject_id=subject,
        name=name,
        kind="",
        value=value,
        updated_by="test",
        updated_at=T0 + timedelta(minutes=minutes),
    )


def test_identity_is_the_survivors_latest_wins_elsewhere_and_lists_are_joined() -> None:
    survivor, absorbed = uuid.uuid4(), uuid.uuid4()
    rows = [
        row(survivor, "name", "Ada", 0),
        row(absorbed, "name", "Ada L.", 5),  # newer, but identity keeps the survivor's
        row(absorbed, "phone", "+447700900123", 1),  # the survivor has none
        row(survivor, "job", {"title": "analyst"}, 2),
        row(absorbed, "job", {"title": "countess"}, 3),  # descriptive: the latest
        row(absorbed, "interests", ["poetry", "maths"], 9),
        row(survivor, "interests", ["maths"], 1),
        row(survivor, "retired_field", 1, 0),  # a name this version no longer knows
    ]
    fields = merged_fields(rows, survivor)
    assert {n: f["value"] for n, f in fields.items()} == {
        "name": "Ada",
        "phone": "+447700900123",
        "job": {"title": "countess"},
        "interests": ["maths", "poetry"],
    }
    assert {n: f["kind"] for n, f in fields.items()} == {
        "name": "identity",
        "phone": "identity",
        "job": "descriptive",
        "interests": "attitudinal",
    }


def test_behaviour_is_derived_from_events_and_absent_without_any() -> None:
    assert derived_fields({"counts": {}, "last_channel": None, "last_at": None}) == {}
    derived = derived_fields(
        {
            "counts": {"page_view": 3, "purchase": 1, "search": 7},
            "last_channel": "app",
            "last_at": T0,
        }
    )
    assert {n: f["value"] for n, f in derived.items()} == {
        "visits": 3,
        "purchases": 1,
        "app_use": 0,
        "last_seen_channel": "app",
        "last_seen_at": T0.isoformat(),
    }
    assert {f["kind"] for f in derived.values()} == {"behavioural"}
