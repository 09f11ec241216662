"""`allowed` semantics and version handling, straight on the view's memory (no broker)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ciam_consent_sdk import ConsentState, ConsentStateItem, ConsentView
from ciam_consent_sdk.wire import StateRecord

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def item(
    purpose: str = "marketing",
    status: str = "granted",
    version: int = 1,
    *,
    brand: str | None = None,
    channel: str | None = None,
    expires_at: datetime | None = None,
) -> ConsentStateItem:
    return ConsentStateItem(
        purpose=purpose,
        purpose_version=1,
        brand=brand,
        channel=channel,
        status=status,
        version=version,
        updated_at=NOW,
        expires_at=expires_at,
    )


def state(subject: uuid.UUID, version: int, *items: ConsentStateItem) -> StateRecord:
    return StateRecord(
        subject_id=subject,
        state=ConsentState(subject_id=subject, version=version, updated_at=NOW, consents=items),
        version=version,
        event_id=uuid.uuid4(),
    )


def tombstone(subject: uuid.UUID, version: int | None) -> StateRecord:
    return StateRecord(subject_id=subject, state=None, version=version, event_id=None)


def view_with(*items: ConsentStateItem) -> tuple[ConsentView, uuid.UUID]:
    view = ConsentView("unused:9092")
    subject = uuid.uuid4()
    view._apply(state(subject, max([i.version for i in items], default=1), *items))
    return view, subject


# -- allowed --------------------------------------------------------------------------------


def test_a_global_grant_allows_every_brand_and_channel() -> None:
    view, subject = view_with(item())
    assert view.allowed(subject, "marketing", at=NOW)
    assert view.allowed(subject, "marketing", "email", "brand-a", at=NOW)


def test_an_unknown_subject_or_purpose_is_not_allowed() -> None:
    view, subject = view_with(item())
    assert not view.allowed(uuid.uuid4(), "marketing", at=NOW)
    assert not view.allowed(subject, "profiling", at=NOW)


def test_the_subject_may_be_given_as_a_string_and_a_bad_one_is_not_allowed() -> None:
    view, subject = view_with(item())
    assert view.allowed(str(subject), "marketing", at=NOW)
    assert not view.allowed("not-a-uuid", "marketing", at=NOW)
    assert view.consents(str(subject)) == view.consents(subject) is not None


def test_a_newer_brand_withdrawal_overrides_an_older_global_grant_for_that_brand_only() -> None:
    view, subject = view_with(item(version=1), item(status="withdrawn", version=2, brand="a"))
    assert not view.allowed(subject, "marketing", brand="a", at=NOW)
    assert view.allowed(subject, "marketing", brand="b", at=NOW)
    assert view.allowed(subject, "marketing", at=NOW)


def test_a_newer_global_withdrawal_overrides_an_older_brand_and_channel_grant() -> None:
    view, subject = view_with(
        item(version=1, brand="a", channel="sms"), item(status="withdrawn", version=2)
    )
    assert not view.allowed(subject, "marketing", "sms", "a", at=NOW)


def test_a_newer_global_grant_overrides_an_older_brand_denial() -> None:
    view, subject = view_with(item(status="denied", version=1, brand="a"), item(version=2))
    assert view.allowed(subject, "marketing", brand="a", at=NOW)


def test_on_a_version_tie_the_more_specific_record_decides() -> None:
    view, subject = view_with(item(status="denied", version=3), item(version=3, brand="a"))
    assert view.allowed(subject, "marketing", brand="a", at=NOW)
    assert not view.allowed(subject, "marketing", brand="b", at=NOW)


def test_on_a_tie_between_equally_specific_records_a_refusal_wins() -> None:
    view, subject = view_with(
        item(version=2, brand="a"), item(status="withdrawn", version=2, channel="sms")
    )
    assert not view.allowed(subject, "marketing", "sms", "a", at=NOW)
    assert view.allowed(subject, "marketing", "email", "a", at=NOW)


def test_a_channel_specific_grant_does_not_apply_to_a_query_without_channel() -> None:
    view, subject = view_with(item(channel="email"))
    assert not view.allowed(subject, "marketing", at=NOW)
    assert not view.allowed(subject, "marketing", "sms", at=NOW)
    assert view.allowed(subject, "marketing", "email", at=NOW)


def test_a_brand_specific_grant_does_not_apply_to_another_brand_or_to_no_brand() -> None:
    view, subject = view_with(item(brand="a"))
    assert not view.allowed(subject, "marketing", at=NOW)
    assert not view.allowed(subject, "marketing", brand="b", at=NOW)
    assert view.allowed(subject, "marketing", brand="a", at=NOW)


def test_an_expired_grant_fails_closed_before_the_server_says_expired() -> None:
    view, subject = view_with(item(expires_at=NOW))
    assert view.allowed(subject, "marketing", at=NOW - timedelta(seconds=1))
    assert not view.allowed(subject, "marketing", at=NOW)
    assert not view.allowed(subject, "marketing", at=NOW + timedelta(days=1))


def test_expiry_is_checked_against_the_current_time_by_default() -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    future = datetime.now(UTC) + timedelta(hours=1)
    view, subject = view_with(item("past", expires_at=past), item("future", expires_at=future))
    assert not view.allowed(subject, "past")
    assert view.allowed(subject, "future")


def test_every_status_but_granted_refuses_including_one_this_sdk_does_not_know() -> None:
    statuses = ["denied", "withdrawn", "expired", "needs_reconsent", "paused-by-a-future-server"]
    view, subject = view_with(*(item(purpose=s, status=s) for s in statuses))
    assert not any(view.allowed(subject, s, at=NOW) for s in statuses)


# -- versions -------------------------------------------------------------------------------


def test_a_newer_version_replaces_the_state_and_reports_the_previous_one() -> None:
    view, subject = view_with(item(version=1))
    change = view._apply(state(subject, 2, item(status="withdrawn", version=2)))
    assert change is not None
    assert change.previous is not None and change.previous.version == 1
    assert change.current is not None and change.current.version == 2
    assert not view.allowed(subject, "marketing", at=NOW)
    assert view.stats.applied == 2


def test_an_older_or_duplicate_version_is_dropped_and_counted() -> None:
    view, subject = view_with(item(status="withdrawn", version=2))
    assert view._apply(state(subject, 1, item(version=1))) is None
    assert view._apply(state(subject, 2, item(version=2))) is None
    assert not view.allowed(subject, "marketing", at=NOW)
    assert view.stats.stale_dropped == 2
    assert view.stats.applied == 1


def test_a_tombstone_erases_the_subject() -> None:
    view, subject = view_with(item(version=1))
    change = view._apply(tombstone(subject, 2))
    assert change is not None and change.erased and change.current is None
    assert change.previous is not None and change.event_id is None
    assert view.consents(subject) is None
    assert not view.allowed(subject, "marketing", at=NOW)
    assert view.stats.erased == 1


def test_a_tombstone_at_the_last_state_version_still_erases() -> None:
    view, subject = view_with(item(version=3))
    assert view._apply(tombstone(subject, 3)) is not None
    assert view.consents(subject) is None


def test_an_older_state_replayed_after_an_erasure_stays_out() -> None:
    view, subject = view_with(item(version=1))
    view._apply(tombstone(subject, 2))
    assert view._apply(state(subject, 1, item(version=1))) is None
    assert view._apply(state(subject, 2, item(version=2))) is None
    assert view.consents(subject) is None
    assert view.stats.stale_dropped == 2


def test_a_state_newer_than_the_erasure_brings_the_subject_back() -> None:
    view, subject = view_with(item(version=1))
    view._apply(tombstone(subject, 2))
    change = view._apply(state(subject, 3, item(version=3)))
    assert change is not None and change.previous is None
    assert view.allowed(subject, "marketing", at=NOW)


def test_a_tombstone_older_than_the_current_state_is_dropped() -> None:
    view, subject = view_with(item(version=5))
    assert view._apply(tombstone(subject, 4)) is None
    assert view.allowed(subject, "marketing", at=NOW)


def test_a_duplicate_tombstone_is_dropped() -> None:
    view, subject = view_with(item(version=1))
    assert view._apply(tombstone(subject, 2)) is not None
    assert view._apply(tombstone(subject, 2)) is None
    assert view.stats.erased == 1
    assert view.stats.stale_dropped == 1


def test_a_tombstone_without_version_erases_at_the_known_version() -> None:
    view, subject = view_with(item(version=4))
    change = view._apply(tombstone(subject, None))
    assert change is not None and change.version == 4
    assert view._apply(state(subject, 4, item(version=4))) is None
    assert view._apply(state(subject, 5, item(version=5))) is not None


def test_a_tombstone_of_an_unknown_subject_remembers_its_version() -> None:
    view = ConsentView("unused:9092")
    subject = uuid.uuid4()
    assert view._apply(tombstone(subject, 3)) is not None
    assert view._apply(state(subject, 2, item(version=2))) is None
    assert view.consents(subject) is None
