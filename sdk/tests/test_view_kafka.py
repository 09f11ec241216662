"""The consent view against a real broker, fed with records built by the platform's contracts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ciam_consent_sdk import ConsentUpdate, ConsentView, ConsentViewError
from ciam_consent_sdk.models import dump_state
from ciam_devtools.testing.plugin import eventually
from ciam_shared.events import (
    CloudEvent,
    ConsentApplied,
    ConsentState,
    ConsentStateItem,
    ConsentStatus,
    decode,
    encode,
)
from ciam_shared.topics import CONSENT_APPLIED, CONSENT_STATE, ensure_topics

GRANTED, WITHDRAWN = ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN


def item(
    status: ConsentStatus = GRANTED,
    version: int = 1,
    *,
    purpose: str = "marketing",
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
        updated_at=datetime.now(UTC),
        expires_at=expires_at,
    )


def state_event(subject: uuid.UUID, version: int, *items: ConsentStateItem) -> CloudEvent[Any]:
    data = ConsentState(
        subject_id=subject,
        version=version,
        updated_at=datetime.now(UTC),
        consents=list(items or [item(version=version)]),
    )
    return CloudEvent.wrap(data, source="/consent")


class StateTopic:
    """Writes the state topic as the consent service's relay does."""

    def __init__(self, producer: AIOKafkaProducer, prefix: str) -> None:
        self.producer = producer
        self.name = CONSENT_STATE.name(prefix)

    async def put(self, event: CloudEvent[Any]) -> CloudEvent[Any]:
        key, value, headers = encode(event)
        await self.producer.send_and_wait(
            self.name, value=value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )
        return event

    async def put_state(
        self, subject: uuid.UUID, version: int, *items: ConsentStateItem
    ) -> CloudEvent[Any]:
        return await self.put(state_event(subject, version, *items))

    async def erase(self, subject: uuid.UUID, version: int | None) -> None:
        headers = [] if version is None else [("ciam-version", str(version).encode())]
        await self.producer.send_and_wait(
            self.name, value=None, key=str(subject).encode(), headers=headers
        )


@pytest.fixture
async def topic(kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[StateTopic]:
    await ensure_topics(kafka_bootstrap, [CONSENT_STATE, CONSENT_APPLIED], prefix=topic_prefix)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        yield StateTopic(producer, topic_prefix)
    finally:
        await producer.stop()


def new_view(kafka_bootstrap: str, topic_prefix: str, **options: Any) -> ConsentView:
    return ConsentView(kafka_bootstrap, topic_prefix=topic_prefix, **options)


def recorder(view: ConsentView) -> list[ConsentUpdate]:
    changes: list[ConsentUpdate] = []

    @view.on_change
    async def remember(change: ConsentUpdate) -> None:
        changes.append(change)

    return changes


async def caught_up(view: ConsentView) -> bool:
    return view.lag().records_behind == 0


async def read_acks(bootstrap: str, prefix: str, expected: int, timeout: float = 20.0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        CONSENT_APPLIED.name(prefix),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while len(records) < expected:
                batch = await consumer.getmany(timeout_ms=200)
                records.extend(r for items in batch.values() for r in items)
        # Anything beyond `expected` already there would be an acknowledgement too many.
        extra = await consumer.getmany(timeout_ms=500)
        records.extend(r for items in extra.values() for r in items)
    finally:
        await consumer.stop()
    return records


async def test_bootstrap_gives_the_current_consents_of_every_subject(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await topic.put_state(alice, 1)
    await topic.put_state(alice, 2, item(WITHDRAWN, 2))
    await topic.put_state(bob, 1, item(brand="brand-a"))
    await topic.put_state(carol, 1, item(channel="email"), item(purpose="profiling"))

    view = new_view(kafka_bootstrap, topic_prefix)
    changes = recorder(view)
    async with view:
        # No waiting: start() returns once everything present at start is applied.
        assert view.bootstrapped
        assert not view.allowed(alice, "marketing")
        assert view.allowed(bob, "marketing", brand="brand-a")
        assert not view.allowed(bob, "marketing", brand="brand-b")
        assert view.allowed(carol, "marketing", "email")
        assert not view.allowed(carol, "marketing", "sms")
        assert view.allowed(carol, "profiling", "sms", "brand-b")
        assert [s.version for s in map(view.consents, (alice, bob, carol)) if s] == [2, 1, 1]
        assert len(view) == 3
        assert view.stats.applied == 4
        assert changes == []  # bootstrap is not news


async def test_a_live_withdrawal_calls_back_once_and_flips_allowed(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    subject = uuid.uuid4()
    granted = await topic.put_state(subject, 1)
    view = new_view(kafka_bootstrap, topic_prefix)
    changes = recorder(view)
    async with view:
        assert view.allowed(subject, "marketing")
        withdrawal = await topic.put_state(subject, 2, item(WITHDRAWN, 2))
        await eventually(lambda: _has(changes, 1))
        assert not view.allowed(subject, "marketing")
        change = changes[0]
        assert (change.subject_id, change.version, change.event_id, change.erased) == (
            subject,
            2,
            withdrawal.id,
            False,
        )
        assert change.previous is not None and change.previous.version == granted.data.version
        assert change.current == view.consents(subject)
        await eventually(lambda: caught_up(view))
        assert len(changes) == 1


async def test_a_replayed_older_version_is_dropped(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    subject = uuid.uuid4()
    granted = await topic.put_state(subject, 1)
    view = new_view(kafka_bootstrap, topic_prefix)
    changes = recorder(view)
    async with view:
        withdrawal = await topic.put_state(subject, 2, item(WITHDRAWN, 2))
        await eventually(lambda: _has(changes, 1))
        await topic.put(granted)  # an old grant, re-published
        await topic.put(withdrawal)  # a duplicate
        await eventually(lambda: _stale_dropped(view, 2))
        assert len(changes) == 1
        assert not view.allowed(subject, "marketing")
        assert view.consents(subject) == changes[0].current


async def test_a_tombstone_erases_the_subject_and_keeps_older_replays_out(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    subject = uuid.uuid4()
    granted = await topic.put_state(subject, 1)
    view = new_view(kafka_bootstrap, topic_prefix)
    changes = recorder(view)
    async with view:
        await topic.erase(subject, 2)
        await eventually(lambda: _has(changes, 1))
        assert changes[0].erased and changes[0].current is None and changes[0].version == 2
        assert view.consents(subject) is None
        assert not view.allowed(subject, "marketing")
        await topic.put(granted)
        await eventually(lambda: _stale_dropped(view, 1))
        assert view.consents(subject) is None
        await topic.put_state(subject, 3)  # the subject signs up again
        await eventually(lambda: _has(changes, 2))
        assert view.allowed(subject, "marketing")


async def test_an_erasure_found_at_bootstrap_is_applied_with_or_without_its_version(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    versioned, unversioned = uuid.uuid4(), uuid.uuid4()
    for subject in (versioned, unversioned):
        await topic.put_state(subject, 1)
    await topic.erase(versioned, 2)
    await topic.erase(unversioned, None)
    await topic.put_state(versioned, 2)  # an older state, re-published after the erasure
    async with new_view(kafka_bootstrap, topic_prefix) as view:
        assert view.consents(versioned) is None
        assert view.consents(unversioned) is None
        stats = view.stats
        assert (stats.applied, stats.erased, stats.stale_dropped) == (2, 2, 1)


async def test_each_applied_live_change_is_acknowledged_on_the_applied_topic(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    subject, other = uuid.uuid4(), uuid.uuid4()
    await topic.put_state(subject, 1)  # bootstrap: not acknowledged by default
    view = new_view(kafka_bootstrap, topic_prefix, subscriber="brand-a-crm")
    changes = recorder(view)
    try:
        await view.start()
        withdrawal = await topic.put_state(subject, 2, item(WITHDRAWN, 2))
        await topic.put(withdrawal)  # a duplicate: dropped, so not acknowledged again
        await topic.erase(other, 1)  # erasures are not acknowledged
        await eventually(lambda: _stale_dropped(view, 1))
        await eventually(lambda: _has(changes, 2))
    finally:
        await view.stop()  # flushes the acknowledgements in flight
    records = await read_acks(kafka_bootstrap, topic_prefix, 1)
    assert len(records) == 1
    record = records[0]
    event = decode(dict(record.headers), record.value)
    ack = event.data
    assert isinstance(ack, ConsentApplied)
    assert (ack.subscriber, ack.subject_id, ack.version, ack.event_id) == (
        "brand-a-crm",
        subject,
        2,
        withdrawal.id,
    )
    assert record.key == str(subject).encode()
    assert event.source == "/sdk/brand-a-crm" and event.subject == str(subject)
    assert event.time.tzinfo is not None and ack.applied_at.tzinfo is not None
    assert view.stats.acks_sent == 1 and view.stats.ack_failures == 0


async def test_bootstrap_records_are_acknowledged_when_asked(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    first = await topic.put_state(uuid.uuid4(), 1)
    second = await topic.put_state(uuid.uuid4(), 1)
    view = new_view(kafka_bootstrap, topic_prefix, subscriber="brand-b", ack_bootstrap=True)
    try:
        await view.start()
    finally:
        await view.stop()
    records = await read_acks(kafka_bootstrap, topic_prefix, 2)
    acked = {decode(dict(r.headers), r.value).data.event_id for r in records}
    assert acked == {first.id, second.id}


async def test_lag_reaches_zero_after_catching_up(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    subjects = [uuid.uuid4() for _ in range(30)]
    for subject in subjects:
        await topic.put_state(subject, 1)
    async with new_view(kafka_bootstrap, topic_prefix) as view:
        await eventually(lambda: caught_up(view))
        lag = view.lag()
        assert lag.bootstrapped and lag.last_record_at is not None
        assert sorted(lag.per_partition) == list(range(CONSENT_STATE.partitions))
        await asyncio.gather(*(topic.put_state(s, 2, item(WITHDRAWN, 2)) for s in subjects))
        await eventually(lambda: _applied(view, 60))
        await eventually(lambda: caught_up(view))
        assert not any(view.allowed(s, "marketing") for s in subjects)


async def test_lag_counts_the_records_not_yet_applied(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    release = asyncio.Event()
    view = new_view(kafka_bootstrap, topic_prefix, lag_refresh_seconds=0.1)

    @view.on_change
    async def slow(change: ConsentUpdate) -> None:
        await release.wait()

    subject = uuid.uuid4()
    try:
        await view.start()
        for version in (1, 2, 3):
            await topic.put_state(subject, version)
        # The first change is held in its callback: the two after it are behind, though the
        # consumer stopped fetching (and so learning the highwater) while it waits.
        await eventually(lambda: _behind(view, 2), timeout=5)
    finally:
        release.set()
        await view.stop()


async def test_caught_up_asks_the_broker_and_is_false_while_records_wait(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    release = asyncio.Event()
    view = new_view(kafka_bootstrap, topic_prefix, lag_refresh_seconds=3600)

    @view.on_change
    async def slow(change: ConsentUpdate) -> None:
        await release.wait()

    subject = uuid.uuid4()
    assert await view.caught_up() is False  # not started: it knows nothing
    try:
        await view.start()
        assert await view.caught_up() is True
        await topic.put_state(subject, 1)
        await topic.put_state(subject, 2)
        # The broker holds both; the view is stuck in the first one's callback (and its
        # background lag refresh is off): only asking the broker now can tell.
        assert await view.caught_up() is False
        release.set()
        await eventually(view.caught_up)
    finally:
        release.set()
        await view.stop()
    assert await view.caught_up() is False


async def test_stop_ends_a_stuck_callback_after_the_stop_timeout(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    entered, cancelled = asyncio.Event(), asyncio.Event()
    view = new_view(kafka_bootstrap, topic_prefix, stop_timeout=0.2)

    @view.on_change
    async def stuck(change: ConsentUpdate) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    try:
        await view.start()
        await topic.put_state(uuid.uuid4(), 1)
        await asyncio.wait_for(entered.wait(), 20)
    finally:
        await asyncio.wait_for(view.stop(), 10)
    assert cancelled.is_set()


async def test_the_view_reads_exactly_what_the_platform_model_emits(
    topic: StateTopic, kafka_bootstrap: str, topic_prefix: str
) -> None:
    subject = uuid.uuid4()
    expires = datetime.now(UTC) + timedelta(days=30)
    event = await topic.put_state(
        subject,
        7,
        item(GRANTED, 5, expires_at=expires),
        item(WITHDRAWN, 7, brand="brand-a", channel=None),
        item(ConsentStatus.NEEDS_RECONSENT, 6, purpose="profiling", brand=None, channel="sms"),
        item(ConsentStatus.EXPIRED, 4, purpose="analytics"),
        item(ConsentStatus.DENIED, 3, purpose="sharing", brand="brand-b", channel="email"),
    )
    async with new_view(kafka_bootstrap, topic_prefix) as view:
        seen = view.consents(subject)
        assert seen is not None
        assert dump_state(seen) == event.data.model_dump(mode="json")
        assert view.allowed(subject, "marketing", "email", "brand-c")
        assert not view.allowed(subject, "marketing", "email", "brand-a")
        assert view.stats.malformed == 0


async def test_a_view_of_a_missing_topic_fails_to_start_and_leaves_nothing_running(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    view = new_view(kafka_bootstrap, topic_prefix, subscriber="brand-a")
    with pytest.raises(ConsentViewError, match="does not exist"):
        await view.start()
    await view.stop()  # harmless after a failed start


async def _has(changes: list[ConsentUpdate], n: int) -> bool:
    return len(changes) >= n


async def _stale_dropped(view: ConsentView, n: int) -> bool:
    return view.stats.stale_dropped >= n


async def _applied(view: ConsentView, n: int) -> bool:
    return view.stats.applied >= n


async def _behind(view: ConsentView, n: int) -> bool:
    return view.lag().records_behind == n
