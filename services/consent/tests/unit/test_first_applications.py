"""Who applied which change, computed in one pass: the same answer as checking every change
against every acknowledgement (the definition), for any history and acknowledgements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ciam_consent.service.queries import first_applications

T0 = datetime(2026, 12, 3, tzinfo=UTC)


@dataclass(frozen=True)
class Ack:
    subscriber: str
    version: int
    applied_at: datetime


def by_definition(versions: list[int], acks: list[Ack]) -> dict[int, dict[str, datetime]]:
    result: dict[int, dict[str, datetime]] = {}
    for version in versions:
        applied: dict[str, datetime] = {}
        for ack in acks:
            if ack.version >= version:
                first = applied.get(ack.subscriber)
                if first is None or ack.applied_at < first:
                    applied[ack.subscriber] = ack.applied_at
        result[version] = applied
    return result


acks = st.lists(
    st.builds(
        Ack,
        subscriber=st.sampled_from(["shop", "crm", "mail"]),
        version=st.integers(min_value=1, max_value=30),
        applied_at=st.integers(min_value=0, max_value=1000).map(lambda s: T0 + timedelta(s)),
    ),
    max_size=60,
)


@given(versions=st.sets(st.integers(min_value=1, max_value=30), max_size=30), acks=acks)
def test_one_pass_agrees_with_the_definition(versions: set[int], acks: list[Ack]) -> None:
    ordered = sorted(versions)
    assert first_applications(ordered, acks) == by_definition(ordered, acks)


def test_a_later_version_applied_covers_the_earlier_changes() -> None:
    found = first_applications([1, 2, 3], [Ack("shop", 3, T0), Ack("crm", 1, T0)])
    assert found == {1: {"shop": T0, "crm": T0}, 2: {"shop": T0}, 3: {"shop": T0}}
