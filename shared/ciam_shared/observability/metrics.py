"""Gauges an operator alerts on, refreshed by each service in the background: how far its
consumer groups are behind (per group, topic and partition) and how old and large its unsent
outbox is.

Lag is measured from the broker (committed offsets against end offsets), not from inside the
consumer, so a stuck or crashed handler shows a growing lag instead of its last good value.
Every replica of a service reports the same series (label `instance` tells them apart): take
`max` over them, not the sum.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Gauge
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_shared.db import utcnow

log = logging.getLogger(__name__)

CONSUMER_LAG = Gauge(
    "ciam_kafka_consumer_lag",
    "Records a consumer group has not committed yet, per topic and partition",
    ["group", "topic", "partition"],
)
COMMITTED_OFFSET = Gauge(
    "ciam_kafka_consumer_committed_offset",
    "The offset a consumer group committed last, per topic and partition (a stuck group's stops)",
    ["group", "topic", "partition"],
)
OUTBOX_UNSENT = Gauge("ciam_outbox_unsent", "Outbox rows not published yet", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "ciam_outbox_oldest_unsent_age_seconds",
    "Age of the oldest outbox row not published yet (0 when none)",
    ["service"],
)


async def outbox_gauges(
    service: str, sessions: async_sessionmaker[AsyncSession], table: Table
) -> None:
    """One measurement of the service's unsent outbox (a partial index serves the query)."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(func.count(), func.min(table.c.created_at)).where(table.c.sent_at.is_(None))
            )
        ).one()
    count, oldest = int(row[0] or 0), row[1]
    OUTBOX_UNSENT.labels(service).set(count)
    OUTBOX_OLDEST_AGE.labels(service).set(_age(oldest))


def _age(oldest: datetime | None) -> float:
    return max((utcnow() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0


class LagProbe:
    """Lag of the consumer groups named `<service>.<purpose>` on topics starting with the
    service's topic prefix (the groups' names are the project's convention, STYLE.md)."""

    def __init__(self, service: str, bootstrap_servers: str, topic_prefix: str) -> None:
        self.group_prefix = f"{service}."
        self.topic_prefix = topic_prefix
        self._bootstrap_servers = bootstrap_servers
        self._client_id = f"{service}-lag-probe"
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._seen: set[tuple[str, str, str]] = set()

    @property
    def started(self) -> bool:
        return self._consumer is not None

    async def start(self) -> None:
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap_servers, client_id=self._client_id
        )
        # No group: it only asks for end offsets and never joins or commits anything.
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap_servers,
            client_id=self._client_id,
            group_id=None,
            enable_auto_commit=False,
        )
        try:
            await self._admin.start()
            await consumer.start()
        except BaseException:
            self._consumer = consumer  # stop() closes whatever part of it started
            await self.stop()
            raise
        self._consumer = consumer

    async def stop(self) -> None:
        admin, consumer = self._admin, self._consumer
        self._admin = self._consumer = None
        # Closing a client that never connected may raise: nothing is left to release then.
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()

    async def measure(self) -> dict[tuple[str, str, int], int]:
        """{(group, topic, partition): lag}, and the gauges set to it."""
        assert self._admin is not None and self._consumer is not None, "probe not started"
        groups = [
            str(entry[0])
            for entry in await self._admin.list_consumer_groups()
            if str(entry[0]).startswith(self.group_prefix)
        ]
        committed: dict[tuple[str, TopicPartition], int] = {}
        for group in groups:
            offsets = await self._admin.list_consumer_group_offsets(group)
            for tp, meta in offsets.items():
                if tp.topic.startswith(self.topic_prefix) and meta.offset >= 0:
                    committed[(group, tp)] = int(meta.offset)
        partitions = sorted({tp for _, tp in committed}, key=lambda tp: (tp.topic, tp.partition))
        ends = await self._consumer.end_offsets(partitions) if partitions else {}
        lag = {
            (group, tp.topic, tp.partition): max(int(ends[tp]) - offset, 0)
            for (group, tp), offset in committed.items()
            if tp in ends
        }
        for (group, topic, partition), value in lag.items():
            CONSUMER_LAG.labels(group, topic, str(partition)).set(value)
        for (group, tp), offset in committed.items():
            COMMITTED_OFFSET.labels(group, tp.topic, str(tp.partition)).set(offset)
        return lag


async def refresh_forever(
    *,
    service: str,
    sessions: async_sessionmaker[AsyncSession],
    outbox: Table,
    probe: LagProbe,
    every_seconds: float,
) -> None:
    """Measure now and then every `every_seconds` until cancelled; a failed measurement is
    logged and the gauges keep their last values (the next one may succeed)."""
    try:
        while True:
            try:
                await outbox_gauges(service, sessions, outbox)
            except Exception:
                log.warning("measuring the outbox failed", exc_info=True)
            try:
                if not probe.started:
                    await probe.start()
                await probe.measure()
            except Exception:
                log.warning("measuring consumer lag failed", exc_info=True)
            await asyncio.sleep(every_seconds)
    finally:
        await probe.stop()


__all__ = [
    "COMMITTED_OFFSET",
    "CONSUMER_LAG",
    "OUTBOX_OLDEST_AGE",
    "OUTBOX_UNSENT",
    "LagProbe",
    "outbox_gauges",
    "refresh_forever",
]
