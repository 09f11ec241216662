"""Records as they come off Kafka, through the view's handler (no broker: fake records)."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from ciam_consent_sdk import ConsentState, ConsentStateItem, ConsentUpdate, ConsentView
from ciam_consent_sdk.models import dump_state

NOW = datetime(2030, 1, 1, tzinfo=UTC)
STATE_TYPE = "dev.ciam.consent.state.v1"


@dataclass(frozen=True)
class FakeRecord:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    offset: int = 0
    partition: int = 0
    timestamp: int = 1_700_000_000_000


@dataclass
class FakeAcks:
    published: list[tuple[uuid.UUID, int, uuid.UUID]] = field(default_factory=list)
    sent: int = 0
    failed: int = 0

    async def publish(self, subject_id: uuid.UUID, version: int, event_id: uuid.UUID) -> None:
        self.published.append((subject_id, version, event_id))


def state_json(subject: uuid.UUID, version: int, status: str = "granted") -> bytes:
    item = ConsentStateItem(
        purpose="marketing",
        purpose_version=1,
        status=status,
        version=version,
        updated_at=NOW,
    )
    state = ConsentState(subject_id=subject, version=version, updated_at=NOW, consents=(item,))
    return json.dumps(dump_state(state)).encode()


def record(
    subject: uuid.UUID,
    version: int,
    status: str = "granted",
    *,
    offset: int = 0,
    event_id: uuid.UUID | None = None,
    value: bytes | None = None,
    ce_type: str = STATE_TYPE,
) -> FakeRecord:
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(event_id or uuid.uuid4()),
        "ce_source": "/consent",
        "ce_type": ce_type,
        "ce_subject": str(subject),
        "ce_time": NOW.isoformat(),
        "content-type": "application/json",
    }
    return FakeRecord(
        key=str(subject).encode(),
        value=value if value is not None else state_json(subject, version, status),
        headers=[(k, v.encode()) for k, v in headers.items()],
        offset=offset,
    )


def tombstone(subject: uuid.UUID, version: int | None, *, offset: int = 0) -> FakeRecord:
    headers = [] if version is None else [("ciam-version", str(version).encode())]
    return FakeRecord(key=str(subject).encode(), value=None, headers=headers, offset=offset)


def watched(view: ConsentView) -> list[ConsentUpdate]:
    changes: list[ConsentUpdate] = []

    @view.on_change
    async def remember(change: ConsentUpdate) -> None:
        changes.append(change)

    return changes


async def test_malformed_records_are_skipped_and_counted_without_stopping_the_view() -> None:
    view = ConsentView("unused:9092")
    subject = uuid.uuid4()
    good = record(subject, 1)
    bad = [
        record(subject, 1, value=b"{not json"),
        record(subject, 1, value=b'{"subject_id": "nope", "version": 1}'),
        record(subject, 1, ce_type="dev.ciam.consent.something-else.v1"),
        FakeRecord(good.key, good.value, [h for h in good.headers if h[0] != "ce_type"]),
        FakeRecord(good.key, good.value, [h for h in good.headers if h[0] != "ce_id"]),
        FakeRecord(str(uuid.uuid4()).encode(), good.value, good.headers),  # key of another
        FakeRecord(b"not-a-subject", good.value, good.headers),
        FakeRecord(None, None, []),  # a tombstone of nobody
        FakeRecord(good.key, None, [("ciam-version", b"two")]),
        FakeRecord(good.key, good.value, [("ce_type", b"\xff\xfe")]),
    ]
    for malformed in bad:
        await view._handle(malformed)
    await view._handle(good)
    assert view.stats.malformed == len(bad)
    assert view.stats.applied == 1
    assert view.allowed(subject, "marketing", at=NOW)


async def test_callbacks_see_each_applied_change_once_and_in_order() -> None:
    view = ConsentView("unused:9092")
    changes = watched(view)
    subject = uuid.uuid4()
    first, second = uuid.uuid4(), uuid.uuid4()
    await view._handle(record(subject, 1, event_id=first, offset=0))
    await view._handle(record(subject, 2, "withdrawn", event_id=second, offset=1))
    await view._handle(record(subject, 1, offset=2))  # replayed: dropped
    await view._handle(tombstone(subject, 3, offset=3))
    assert [(c.version, c.event_id, c.erased) for c in changes] == [
        (1, first, False),
        (2, second, False),
        (3, None, True),
    ]
    assert changes[1].previous == changes[0].current
    assert changes[2].previous == changes[1].current and changes[2].current is None


async def test_a_failing_callback_is_logged_others_still_run_and_nothing_is_acknowledged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    view = ConsentView("unused:9092")
    acks = FakeAcks()
    view._acks = acks  # type: ignore[assignment]

    @view.on_change
    async def explode(change: ConsentUpdate) -> None:
        if change.version == 1:
            raise RuntimeError("the brand app's database is down")

    changes = watched(view)
    subject = uuid.uuid4()
    with caplog.at_level(logging.ERROR, logger="ciam_consent_sdk"):
        await view._handle(record(subject, 1, offset=0))
    event_id = uuid.uuid4()
    await view._handle(record(subject, 2, event_id=event_id, offset=1))
    assert "a consent change callback failed" in caplog.text
    assert [c.version for c in changes] == [1, 2]
    assert acks.published == [(subject, 2, event_id)]
    assert view.stats.callback_errors == 1


async def test_erasures_are_not_acknowledged() -> None:
    view = ConsentView("unused:9092")
    view._acks = acks = FakeAcks()  # type: ignore[assignment]
    subject = uuid.uuid4()
    await view._handle(record(subject, 1, offset=0))
    await view._handle(tombstone(subject, 2, offset=1))
    assert [version for _, version, _ in acks.published] == [1]


async def test_bootstrap_records_call_back_and_acknowledge_only_when_asked() -> None:
    subject = uuid.uuid4()
    outcomes = []
    for notify, ack in [(False, False), (True, False), (False, True)]:
        view = ConsentView("unused:9092", notify_bootstrap=notify, ack_bootstrap=ack)
        view._acks = acks = FakeAcks()  # type: ignore[assignment]
        changes = watched(view)
        await view._handle(record(subject, 1, offset=0), True)  # there at start
        await view._handle(record(subject, 2, offset=1), False)  # live
        outcomes.append(
            ([(c.version, c.during_bootstrap) for c in changes], [v for _, v, _ in acks.published])
        )
    assert outcomes == [
        ([(2, False)], [2]),
        ([(1, True), (2, False)], [2]),
        ([(2, False)], [1, 2]),
    ]


def test_a_view_without_subscriber_publishes_no_acknowledgements() -> None:
    assert ConsentView("unused:9092", acknowledge=True)._acks is None
    assert ConsentView("unused:9092", subscriber="brand-a", acknowledge=False)._acks is None
    assert ConsentView("unused:9092", subscriber="brand-a")._acks is not None


def test_a_subscriber_name_must_fit_the_contract() -> None:
    with pytest.raises(ValueError, match="subscriber"):
        ConsentView("unused:9092", subscriber="")
    with pytest.raises(ValueError, match="subscriber"):
        ConsentView("unused:9092", subscriber="x" * 201)


def test_lag_before_start_is_zero_and_not_bootstrapped() -> None:
    lag = ConsentView("unused:9092").lag()
    assert (lag.records_behind, dict(lag.per_partition), lag.bootstrapped) == (0, {}, False)
