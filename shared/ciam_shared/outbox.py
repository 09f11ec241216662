"""Transactional outbox: events commit with the state change; a relay publishes them.

A use case calls `stage(session, event)` inside its transaction. On commit the session wakes the
relay (SQLAlchemy `after_commit`), which publishes every unsent row in order, keyed by subject
id, with acks=all and the idempotent producer, then marks the rows sent. A periodic sweep covers
what the wake-up cannot: a crash between commit and publish, or rows committed by another
process. Publishing twice is possible (crash after publish, before marking sent): consumers are
idempotent on the CloudEvents id (see inbox.py).

The relay uses its own aiokafka producer rather than FastStream's `publish`: it hands a whole
batch to the producer in order and then awaits all acknowledgements, which keeps per-partition
order (the idempotent producer guarantees it across retries) without a round trip per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import zlib
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry.trace import Span
from prometheus_client import Counter, Gauge
from sqlalchemy import JSON as SAJSON
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_shared.db import TimestampTZ, after_commit, utcnow
from ciam_shared.events import CloudEvent, encode
from ciam_shared.observability import tracing
from ciam_shared.worker import WorkerLoop

OUTBOX = "outbox"
TOMBSTONE = "tombstone"
VERSION_HEADER = "ciam-version"
WAKE = "outbox_wake"

PUBLISHED = Counter(
    "ciam_outbox_published_total", "Events published by the outbox relay", ["service"]
)
PUBLISH_FAILURES = Counter("ciam_outbox_failures_total", "Failed relay batches", ["service"])
BACKLOG = Gauge("ciam_outbox_backlog", "Unsent outbox rows seen by the last batch", ["service"])

# PostgreSQL's SQLSTATE for a lock wait that ran into `lock_timeout`.
LOCK_NOT_AVAILABLE = "55P03"


class _NotLeader(Exception):
    """Another replica's relay held the publishing lock for all of `lock_wait_seconds`."""


def outbox_table(metadata: MetaData) -> Table:
    table = Table(
        OUTBOX,
        metadata,
        Column(
            "seq",
            BigInteger(),
            primary_key=True,
            autoincrement=True,
        ),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", String(249), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("headers", SAJSON, nullable=False),
        Column("payload", LargeBinary, nullable=True),  # None: a tombstone (compacted topics)
        Column("created_at", TimestampTZ(), nullable=False, default=utcnow),
        Column("sent_at", TimestampTZ(), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
    )
    Index(
        "ix_outbox_unsent",
        table.c.seq,
        postgresql_where=table.c.sent_at.is_(None),
    )
    return table


async def stage(session: AsyncSession, event: CloudEvent[Any], *, topic_prefix: str = "") -> None:
    """Add `event` to the outbox in the session's current transaction."""
    await stage_many(session, [event], topic_prefix=topic_prefix)


async def stage_many(
    session: AsyncSession, events: Sequence[CloudEvent[Any]], *, topic_prefix: str = ""
) -> None:
    """Add `events`, in this order, to the outbox in one statement."""
    if not events:
        return
    table = _outbox_of(session)
    now = utcnow()
    # The trace of the request or handler that staged the events: the relay's publish
    # continues it (CloudEvents distributed-tracing attributes; empty while tracing is off).
    trace_headers = tracing.event_attributes()
    rows = []
    for event in events:
        key, value, headers = encode(event)
        headers |= trace_headers
        rows.append(
            {
                "event_id": event.id,
                "topic": f"{topic_prefix}{event.data.topic_base_name}",
                "key": key.decode(),
                "event_type": event.type,
                "headers": headers,
                "payload": value,
                "created_at": now,
                "attempts": 0,
            }
        )
    # The rows as parameters of one constant statement (one row: execute; more: executemany),
    # not `.values(rows)`: a statement holding its values has no cache key and is compiled
    # again on every call (0.12 ms of CPU per staged event; bench/README.md, target 4).
    await session.execute(table.insert(), rows[0] if len(rows) == 1 else rows)
    _wake_after_commit(session)


async def stage_tombstone(
    session: AsyncSession, *, topic_base_name: str, key: str, version: int, topic_prefix: str = ""
) -> None:
    """Stage a record with no value: on a compacted topic it erases every record of `key`.

    It carries the subject's version (header `ciam-version`) so consumers can still drop an
    older record replayed after it.
    """
    table = _outbox_of(session)
    await session.execute(
        table.insert().values(
            event_id=uuid.uuid4(),
            topic=f"{topic_prefix}{topic_base_name}",
            key=key,
            event_type=TOMBSTONE,
            headers={VERSION_HEADER: str(version), **tracing.event_attributes()},
            payload=None,
            created_at=utcnow(),
            attempts=0,
        )
    )
    _wake_after_commit(session)


def outbox_rows(
    events: Sequence[CloudEvent[Any]], *, topic_prefix: str = ""
) -> list[dict[str, Any]]:
    """The outbox rows of `events`, in order, as `stage_many` writes them, for a caller that
    inserts them with its own statement in the session's transaction (a service's hot path,
    writing several tables in one statement); it then calls `wake_after_commit(session)`."""
    now = utcnow()
    trace_headers = tracing.event_attributes()  # as in stage_many: the relay continues it
    rows = []
    for event in events:
        key, value, headers = encode(event)
        rows.append(
            {
                "event_id": event.id,
                "topic": f"{topic_prefix}{event.data.topic_base_name}",
                "key": key.decode(),
                "event_type": event.type,
                "headers": headers | trace_headers,
                "payload": value,
                "created_at": now,
                "attempts": 0,
            }
        )
    return rows


def wake_after_commit(session: AsyncSession) -> None:
    """Wake the relay once this transaction commits (after rows written by `outbox_rows`)."""
    _wake_after_commit(session)


def _hop(headers: dict[str, str], span: Span) -> dict[str, str]:
    """The row's headers with the publish span as the record's `traceparent`."""
    sent = dict(headers)
    tracing.inject_hop(span, sent)
    return sent


def _outbox_of(session: AsyncSession) -> Table:
    table = session.info.get(OUTBOX)
    if not isinstance(table, Table):
        raise RuntimeError("the session factory was not built with ciam_shared.service.sessions")
    return table


def _wake_after_commit(session: AsyncSession) -> None:
    """Wake the relay once this transaction commits (setting the wake event is idempotent)."""
    wake = session.info.get(WAKE)
    if wake is not None:
        after_commit(session, wake)


# The bounded wait and the lock in one round trip. The FROM's subquery runs first (a volatile
# function keeps the planner from folding it into the outer query), so the lock waits under
# the transaction-local timeout it set, as `SET LOCAL lock_timeout` followed by the lock did.
LEAD = text(
    "SELECT pg_advisory_xact_lock(:lock)"
    " FROM (SELECT set_config('lock_timeout', :timeout, true)) AS bounded"
)


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        table: Table,
        sessions: async_sessionmaker[AsyncSession],
        bootstrap_servers: str,
        sweep_seconds: float = 5.0,
        batch_size: int = 500,
        lock_wait_seconds: float = 10.0,
    ) -> None:
        self.service = service
        self.table = table
        self.sessions = sessions
        self.bootstrap_servers = bootstrap_servers
        self.sweep_seconds = sweep_seconds
        self.batch_size = batch_size
        self.lock_wait_seconds = lock_wait_seconds
        self._loop = WorkerLoop(f"{service} outbox relay", self._sweep, sweep_seconds)
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lock_id = zlib.crc32(f"ciam-outbox:{service}".encode())
        # Each sweep's statements, built once: built per sweep, their construction and cache
        # keys were a third of a sweep's time (py-spy on auth's sign-ins, one sweep each).
        t = table
        self._unsent = (
            select(t.c.seq, t.c.topic, t.c.key, t.c.headers, t.c.payload)
            .where(t.c.sent_at.is_(None))
            .order_by(t.c.seq)
            .limit(bindparam("batch"))
        )
        seqs = t.c.seq.in_(bindparam("seqs", expanding=True))
        self._mark_sent = update(t).where(seqs).values(sent_at=bindparam("sent_at"))
        self._mark_failed = (
            update(t).where(seqs).values(attempts=t.c.attempts + 1, last_error=bindparam("error"))
        )

    def wake(self) -> None:
        self._loop.wake()

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=f"{self.service}.outbox",
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
        )
        await self._producer.start()
        # The loop's first round publishes whatever an earlier run left behind.
        self._task = asyncio.create_task(self._loop.run(), name=f"{self.service}-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._producer is not None:
            await self._producer.stop()

    async def _sweep(self) -> bool:
        """One batch; True when it was full (more may wait) or another replica's relay kept
        the lock all along (try again: what this replica committed may not be in its batch).
        A failure is counted, then logged and retried at the next sweep by the loop."""
        try:
            return await self._publish_batch() == self.batch_size
        except _NotLeader:
            return True
        except Exception:
            PUBLISH_FAILURES.labels(self.service).inc()
            raise

    async def publish_batch(self) -> int:
        """Publish up to `batch_size` unsent rows in commit order; returns how many (0 also
        when another replica's relay held the lock for all of `lock_wait_seconds`)."""
        try:
            return await self._publish_batch()
        except _NotLeader:
            return 0

    async def _publish_batch(self) -> int:
        assert self._producer is not None, "relay not started"
        async with self.sessions() as session, session.begin():
            await self._lead(session)
            rows = (await session.execute(self._unsent, {"batch": self.batch_size})).all()
            BACKLOG.labels(self.service).set(len(rows))
            if not rows:
                return 0
            # One producer span per record, in the trace its row carries, ended at the ack.
            spans = [tracing.publish_span(row.topic, row.headers) for row in rows]
            try:
                futures = [
                    await self._producer.send(
                        row.topic,
                        value=row.payload,
                        key=row.key.encode(),
                        headers=[(k, v.encode()) for k, v in _hop(row.headers, span).items()],
                    )
                    for row, span in zip(rows, spans, strict=True)
                ]
                await asyncio.gather(*futures)
            except Exception as exc:
                for span in spans:
                    tracing.fail(span, exc)
                    span.end()
                failed = {"seqs": [r.seq for r in rows], "error": repr(exc)[:2000]}
                await session.execute(self._mark_failed, failed)
                raise
            for span in spans:
                span.end()
            sent = {"seqs": [r.seq for r in rows], "sent_at": utcnow()}
            await session.execute(self._mark_sent, sent)
        PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _lead(self, session: AsyncSession) -> None:
        """One relay per service publishes at a time, so per-subject order holds across
        replicas: the lock is held until this batch's rows are marked sent (commit).

        It waits for the lock rather than trying it: a replica whose commit woke its relay
        while another replica's relay was publishing a batch selected before that commit
        must publish its rows once that batch ends, not at the next sweep. The wait is
        bounded (`lock_timeout`), so a stuck holder costs a retry, not a hung task.
        Raises _NotLeader when the wait ran out."""
        timeout_ms = max(1, int(self.lock_wait_seconds * 1000))
        try:
            await session.execute(LEAD, {"lock": self._lock_id, "timeout": f"{timeout_ms}ms"})
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                raise _NotLeader from exc
            raise

    async def unsent_count(self) -> int:
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(self.table).where(self.table.c.sent_at.is_(None))
            )
            return int(count or 0)


__all__ = [
    "OUTBOX",
    "WAKE",
    "OutboxRelay",
    "outbox_rows",
    "outbox_table",
    "stage",
    "stage_many",
    "stage_tombstone",
    "wake_after_commit",
]
