"""Reading the state topic: every partition from its beginning, with no consumer group.

Each start rebuilds the view from Kafka, so nothing is committed and no group rebalances.
Records are handed over one at a time, in order: a subject's records share a partition, so
a sequential stream keeps each subject's changes in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ciam_consent_sdk.wire import KafkaRecord

log = logging.getLogger(__name__)

RecordHandler = Callable[[KafkaRecord, bool], Awaitable[None]]  # (record, during_bootstrap)

_POLL_MS = 500
_RETRY_SECONDS = 1.0


class ConsentViewError(RuntimeError):
    pass


class StateFeed:
    def __init__(
        self,
        *,
        topic: str,
        bootstrap_servers: str,
        client_id: str,
        handler: RecordHandler,
        kafka_options: Mapping[str, Any],
        stop_timeout: float,
        lag_refresh_seconds: float,
    ) -> None:
        self.topic = topic
        self._bootstrap_servers = bootstrap_servers
        self._client_id = client_id
        self._handler = handler
        self._kafka_options = dict(kafka_options)
        self._stop_timeout = stop_timeout
        self._lag_refresh_seconds = lag_refresh_seconds
        self._consumer: AIOKafkaConsumer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._idle = False  # True while following waits where a cancel loses nothing
        self.bootstrapped = False
        self.last_record_at: datetime | None = None  # the Kafka timestamp of the last record
        self._start_ends: dict[int, int] = {}  # where bootstrap ends
        self._latest_ends: dict[int, int] = {}
        self._positions: dict[int, int] = {}

    async def start(self) -> None:
        """Return once every record present at start was handled; then follow live."""
        consumer = AIOKafkaConsumer(
            **{
                **self._kafka_options,
                "bootstrap_servers": self._bootstrap_servers,
                "client_id": self._client_id,
                "group_id": None,
                "enable_auto_commit": False,
                "auto_offset_reset": "earliest",
            }
        )
        self._consumer = consumer
        try:
            await consumer.start()
            partitions = await self._partitions()
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            self._start_ends = {tp.partition: int(offset) for tp, offset in ends.items()}
            self._latest_ends = dict(self._start_ends)
            await self._bootstrap(consumer, partitions)
        except BaseException:
            await self._close()
            raise
        self._tasks = [
            asyncio.create_task(self._follow(consumer), name="ciam-consent-feed"),
            asyncio.create_task(self._watch_ends(consumer, partitions), name="ciam-consent-lag"),
        ]

    async def stop(self) -> None:
        """Let the record in hand finish (up to the stop timeout), then close the consumer."""
        self._stopping = True
        tasks, self._tasks = self._tasks, []
        try:
            if tasks:
                follow, watch = tasks
                watch.cancel()
                await asyncio.wait([watch])
                await self._end(follow)
        finally:
            await self._close()

    def lag(self) -> dict[int, int]:
        """Records not yet handled, per partition."""
        consumer = self._consumer
        if consumer is None:
            return {}
        lag: dict[int, int] = {}
        for partition, start_end in self._start_ends.items():
            highwater = consumer.highwater(TopicPartition(self.topic, partition))
            top = max(int(highwater or 0), self._latest_ends.get(partition, start_end))
            lag[partition] = max(top - self._positions.get(partition, 0), 0)
        return lag

    async def records_behind_now(self) -> int | None:
        """Records not yet handled, against end offsets asked of the broker now (not the
        last fetch's highwater); None when the feed is not running."""
        consumer = self._consumer
        if consumer is None or not self.bootstrapped or self._stopping:
            return None
        partitions = [TopicPartition(self.topic, p) for p in self._start_ends]
        ends = await consumer.end_offsets(partitions)
        behind = 0
        for tp, offset in ends.items():
            self._latest_ends[tp.partition] = int(offset)
            behind += max(int(offset) - self._positions.get(tp.partition, 0), 0)
        return behind

    async def _partitions(self) -> list[TopicPartition]:
        # A consumer without a subscription has no metadata of the topic; asking for every
        # topic (not this one by name) cannot make a broker auto-create it.
        admin = AIOKafkaAdminClient(
            **{
                **self._kafka_options,
                "bootstrap_servers": self._bootstrap_servers,
                "client_id": f"{self._client_id}-metadata",
            }
        )
        await admin.start()
        try:
            topics = await admin.describe_topics()
        finally:
            await admin.close()
        found = [t for t in topics if t["topic"] == self.topic and t["error_code"] == 0]
        if not found or not found[0]["partitions"]:
            raise ConsentViewError(f"topic {self.topic} does not exist")
        numbers = sorted(int(p["partition"]) for p in found[0]["partitions"])
        return [TopicPartition(self.topic, n) for n in numbers]

    async def _bootstrap(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> None:
        for tp in partitions:
            self._positions[tp.partition] = int(await consumer.position(tp))
        pending = [tp for tp in partitions if self._behind_start(tp)]
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=_POLL_MS)
            await self._process(consumer, batch)
            pending = [tp for tp in pending if self._behind_start(tp)]
        self.bootstrapped = True

    def _behind_start(self, tp: TopicPartition) -> bool:
        return self._positions[tp.partition] < self._start_ends[tp.partition]

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping:
            self._idle = True
            try:
                batch = await consumer.getmany(timeout_ms=_POLL_MS)
            except Exception:
                # aiokafka retries what it can; anything left is logged and retried here
                # rather than leaving the brand app with a view that silently froze.
                log.exception("reading the consent state topic failed; retrying")
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            finally:
                self._idle = False
            await self._process(consumer, batch)

    async def _process(
        self, consumer: AIOKafkaConsumer, batch: Mapping[TopicPartition, list[Any]]
    ) -> None:
        for tp, records in batch.items():
            for record in records:
                if self._stopping:
                    return
                self._positions[tp.partition] = record.offset + 1
                if record.timestamp >= 0:
                    self.last_record_at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
                during_bootstrap = record.offset < self._start_ends.get(tp.partition, 0)
                await self._handler(record, during_bootstrap)
            # Also moves past offsets compaction left empty, which no record reports.
            self._positions[tp.partition] = int(await consumer.position(tp))

    async def _watch_ends(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> None:
        # The highwater only moves with fetches, and aiokafka stops fetching while fetched
        # records wait to be handled: a stuck callback would show no lag. Asking the broker
        # for the end offsets now and then keeps lag() honest exactly when it matters.
        while True:
            await asyncio.sleep(self._lag_refresh_seconds)
            try:
                ends = await consumer.end_offsets(partitions)
            except Exception:
                log.warning("could not refresh the end offsets of the consent state topic")
                continue
            for tp, offset in ends.items():
                self._latest_ends[tp.partition] = int(offset)

    async def _end(self, task: asyncio.Task[None]) -> None:
        if self._idle:
            task.cancel()
        done, _ = await asyncio.wait([task], timeout=self._stop_timeout)
        if not done:
            log.warning("a consent callback outlived the stop timeout; cancelling it")
            task.cancel()
            await asyncio.wait([task])
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("the consent feed stopped on an error", exc_info=error)

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()
