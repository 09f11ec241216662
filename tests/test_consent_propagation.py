"""Consent propagation end to end: the consent service as a separate process, brand apps as
ConsentViews (each reads the whole state topic itself, no consumer group; one runs in a
separate process), all over the real broker, with the service's database on real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from joserfc.jwk import ECKey
from sqlalchemy import select, update

from ciam_consent.auth import READ, WRITE
from ciam_consent.models import outbox
from ciam_consent_sdk import ConsentUpdate, ConsentView
from ciam_devtools.testing.apps import register_app
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import ServiceProcess, eventually, publish_event
from ciam_shared.db import create_engine
from ciam_shared.events import CloudEvent, UserDeleted
from ciam_shared.topics import CONSENT_STATE, ensure_topics

pytestmark = pytest.mark.e2e
PURPOSES = ("email-marketing", "sms-marketing", "personalisation", "analytics", "partner-sharing")


class Consent:
    """The consent service process and a client acting as a brand app back end."""

    def __init__(
        self, env: dict[str, str], workdir: Path, issuer: TokenIssuer, db_url: str
    ) -> None:
        self.env, self.workdir, self.issuer, self.db_url = env, workdir, issuer, db_url
        self.process: ServiceProcess | None = None
        self.client = httpx.AsyncClient(timeout=10)
        self.headers = issuer.bearer(
            issuer.app_token("shop-backend", scopes=(READ, WRITE), ttl=3600)
        )

    def start(self, **overrides: str) -> None:
        self.process = ServiceProcess("consent", self.env | overrides, self.workdir).start()

    def url(self, path: str) -> str:
        assert self.process is not None
        return self.process.url + path

    async def change(self, subject: uuid.UUID, purpose: str, action: str) -> int:
        response = await self.client.post(
            self.url(f"/v1/subjects/{subject}/consents/{purpose}/{action}"),
            json={},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return int(response.json()["version"])

    async def consents(self, subject: uuid.UUID) -> dict[str, object]:
        response = await self.client.get(
            self.url(f"/v1/subjects/{subject}/consents"), headers=self.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


@pytest.fixture
async def consent(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    tmp_path: Path,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Consent]:
    url = await fresh_database("ciam_consent.migrations")
    env = {
        "CONSENT_DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "CIAM_ENVIRONMENT": "test",
        "CONSENT_MIGRATE_ON_START": "false",
        "TOKEN_ISSUER": token_issuer.url,
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
    }
    # The brand app whose token the tests use, registered as auth would before consent starts.
    await register_app(kafka_bootstrap, "shop-backend", PURPOSES, prefix=topic_prefix)
    service = Consent(env, tmp_path, token_issuer, url)
    service.start()
    try:
        yield service
    finally:
        await service.client.aclose()
        if service.process is not None:
            service.process.stop()


class Recorder:
    """What each subscriber applied, per subject, in order."""

    def __init__(self) -> None:
        self.applied: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))

    def attach(self, name: str, view: ConsentView) -> None:
        async def record(change: ConsentUpdate) -> None:
            self.applied[name][str(change.subject_id)].append(change.version)

        view.on_change(record)


async def start_views(
    bootstrap: str, prefix: str, names: list[str], recorder: Recorder
) -> list[ConsentView]:
    views = []
    for name in names:
        view = ConsentView(bootstrap, topic_prefix=prefix, subscriber=name)
        recorder.attach(name, view)
        views.append(view)
    await asyncio.gather(*(v.start() for v in views))
    return views


async def stop_views(views: list[ConsentView]) -> None:
    await asyncio.gather(*(v.stop() for v in views), return_exceptions=True)


async def start_subscriber_process(
    bootstrap: str, prefix: str, name: str
) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).parent / "support" / "subscriber.py"),
        bootstrap,
        prefix,
        name,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line.strip() == b"ready", line
    return proc


async def read_lines_until(
    proc: asyncio.subprocess.Process, done, timeout: float = 30
) -> list[dict[str, object]]:
    assert proc.stdout is not None
    lines: list[dict[str, object]] = []
    async with asyncio.timeout(timeout):
        while not done(lines):
            raw = await proc.stdout.readline()
            assert raw, "subscriber process ended"
            lines.append(json.loads(raw))
    return lines


async def test_one_withdrawal_reaches_every_subscriber_exactly_once(
    consent: Consent, kafka_bootstrap: str, topic_prefix: str
) -> None:
    recorder = Recorder()
    names = [f"app-{i}" for i in range(10)]
    views = await start_views(kafka_bootstrap, topic_prefix, names, recorder)
    outsider = await start_subscriber_process(kafka_bootstrap, topic_prefix, "app-outside")
    subject = uuid.uuid4()
    try:
        await consent.change(subject, "email-marketing", "grant")
        version = await consent.change(subject, "email-marketing", "withdraw")

        async def everyone_applied() -> bool:
            return all(recorder.applied[n][str(subject)][-1:] == [version] for n in names)

        await eventually(everyone_applied)
        for name, view in zip(names, views, strict=True):
            assert recorder.applied[name][str(subject)] == [1, 2], name
            assert view.allowed(subject, "email-marketing") is False
        lines = await read_lines_until(
            outsider, lambda ls: any(line["version"] == version for line in ls)
        )
        assert [line["version"] for line in lines if line["subject"] == str(subject)] == [1, 2]

        # Proof: every subscriber acknowledged the withdrawal on consent.applied.
        async def proven() -> bool:
            response = await consent.client.get(
                consent.url(f"/v1/subjects/{subject}/propagation"), headers=consent.headers
            )
            change = response.json()["changes"][-1]
            return set(change["applied"]) >= {*names, "app-outside"} and change["pending"] == []

        await eventually(proven)

        # A subscriber that starts later learns every current consent from the compacted topic.
        late = ConsentView(kafka_bootstrap, topic_prefix=topic_prefix, subscriber="late")
        await late.start()
        try:
            state = late.consents(subject)
            assert state is not None and state.version == version
            assert late.allowed(subject, "email-marketing") is False
        finally:
            await late.stop()
    finally:
        outsider.terminate()
        await outsider.wait()
        await stop_views(views)


async def test_a_crash_between_commit_and_publish_delays_the_change_but_loses_nothing(
    consent: Consent, kafka_bootstrap: str, topic_prefix: str
) -> None:
    recorder = Recorder()
    views = await start_views(kafka_bootstrap, topic_prefix, ["a", "b", "c"], recorder)
    subject = uuid.uuid4()
    try:
        assert consent.process is not None
        consent.process.stop()
        consent.start(CONSENT_OUTBOX_RELAY_ENABLED="false")  # commits, never publishes
        await consent.change(subject, "analytics", "grant")
        engine = create_engine(consent.db_url)
        try:
            async with engine.connect() as connection:
                unsent = (
                    await connection.execute(
                        select(outbox.c.event_type).where(outbox.c.sent_at.is_(None))
                    )
                ).all()
            assert len(unsent) == 2  # the change and the state: committed, not published
        finally:
            await engine.dispose()
        consent.process.kill()  # the crash

        consent.start()  # the restarted relay publishes what the crashed process left

        async def everyone_applied() -> bool:
            return all(recorder.applied[n][str(subject)] == [1] for n in ("a", "b", "c"))

        await eventually(everyone_applied)
        assert all(v.allowed(subject, "analytics") for v in views)
    finally:
        await stop_views(views)


async def test_a_crash_after_publish_before_marking_sent_is_applied_once(
    consent: Consent, kafka_bootstrap: str, topic_prefix: str
) -> None:
    recorder = Recorder()
    views = await start_views(kafka_bootstrap, topic_prefix, ["a", "b"], recorder)
    subject = uuid.uuid4()
    try:
        await consent.change(subject, "analytics", "grant")
        await eventually(lambda: _applied(recorder, ["a", "b"], subject, [1]))
        assert consent.process is not None
        consent.process.kill()
        # The crash happened before the relay marked the rows: they are published again.
        engine = create_engine(consent.db_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(update(outbox).values(sent_at=None))
        finally:
            await engine.dispose()
        consent.start()
        await consent.change(subject, "analytics", "withdraw")  # a later marker change
        await eventually(lambda: _applied(recorder, ["a", "b"], subject, [1, 2]))
        for view in views:
            assert view.stats.stale_dropped >= 1  # the duplicate arrived and was dropped
    finally:
        await stop_views(views)


async def _applied(
    recorder: Recorder, names: list[str], subject: uuid.UUID, versions: list[int]
) -> bool:
    return all(recorder.applied[n][str(subject)] == versions for n in names)


async def test_rapid_changes_and_a_replayed_old_record_never_leave_a_stale_state(
    consent: Consent, kafka_bootstrap: str, topic_prefix: str
) -> None:
    recorder = Recorder()
    names = ["x", "y", "z"]
    views = await start_views(kafka_bootstrap, topic_prefix, names, recorder)
    subject = uuid.uuid4()
    try:
        for action in ("grant", "withdraw", "grant"):
            await consent.change(subject, "sms-marketing", action)
        await eventually(lambda: _latest_is(recorder, names, subject, 3))
        # Replay the first state record (version 1) as a stale duplicate from the topic.
        first = await _state_record(kafka_bootstrap, topic_prefix, subject, version=1)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                CONSENT_STATE.name(topic_prefix),
                value=first.value,
                key=first.key,
                headers=list(first.headers),
            )
        finally:
            await producer.stop()
        await consent.change(subject, "email-marketing", "grant")  # marker after the replay
        await eventually(lambda: _latest_is(recorder, names, subject, 4))
        database = await consent.consents(subject)
        for view in views:
            state = view.consents(subject)
            assert state is not None and state.version == database["version"] == 4
            assert view.allowed(subject, "sms-marketing") is True
    finally:
        await stop_views(views)


async def _latest_is(
    recorder: Recorder, names: list[str], subject: uuid.UUID, version: int
) -> bool:
    return all(recorder.applied[n][str(subject)][-1:] == [version] for n in names)


async def _state_record(bootstrap: str, prefix: str, subject: uuid.UUID, *, version: int):  # type: ignore[no-untyped-def]
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        CONSENT_STATE.name(prefix),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        body = json.loads(record.value) if record.value else {}
                        if record.key == str(subject).encode() and body.get("version") == version:
                            return record
    finally:
        await consumer.stop()


async def test_a_fresh_view_rebuilt_from_the_compacted_topic_equals_the_database(
    consent: Consent, kafka_bootstrap: str, topic_prefix: str
) -> None:
    subjects = [uuid.uuid4() for _ in range(6)]
    for i, subject in enumerate(subjects):
        await consent.change(subject, "email-marketing", "grant")
        if i % 2:
            await consent.change(subject, "email-marketing", "withdraw")
        await consent.change(subject, "analytics", "grant")
    erased = subjects[0]
    await ensure_topics(kafka_bootstrap, prefix=topic_prefix)
    await publish_event(
        kafka_bootstrap,
        CloudEvent.wrap(
            UserDeleted(subject_id=erased, deleted_at=datetime.now(UTC)), source="/tests"
        ),
        prefix=topic_prefix,
    )

    async def erasure_applied() -> bool:
        return (await consent.consents(erased))["consents"] == []

    await eventually(erasure_applied)
    view = ConsentView(kafka_bootstrap, topic_prefix=topic_prefix, subscriber="rebuilt")
    try:
        await view.start()

        versions = {s: (await consent.consents(s))["version"] for s in subjects[1:]}

        async def caught_up() -> bool:
            states = {s: view.consents(s) for s in subjects[1:]}
            return view.consents(erased) is None and all(
                state is not None and state.version == versions[s] for s, state in states.items()
            )

        await eventually(caught_up)
        for subject in subjects[1:]:
            database = await consent.consents(subject)
            state = view.consents(subject)
            assert state is not None
            assert sorted((c.purpose, c.status.value) for c in state.consents) == sorted(
                (c["purpose"], c["status"])
                for c in database["consents"]  # type: ignore[attr-defined]
            )
        assert view.consents(erased) is None
        assert view.allowed(erased, "analytics") is False
    finally:
        await view.stop()
