"""Proof of propagation: a ConsentApplied event for each change a brand app applied.

Sends are not awaited one by one (that would put a broker round trip on every record): their
futures are collected, failures are logged and counted, and `stop` flushes what is in flight.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from ciam_consent_sdk.models import ConsentApplied
from ciam_consent_sdk.tracing import current_headers
from ciam_consent_sdk.wire import APPLIED_EVENT_TYPE, CONTENT_TYPE, SPEC_VERSION

log = logging.getLogger(__name__)


def encode_applied(ack: ConsentApplied) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """The record's key, value and headers (CloudEvents binary mode)."""
    subject = str(ack.subject_id)
    headers = {
        "ce_specversion": SPEC_VERSION,
        "ce_id": str(uuid.uuid4()),
        "ce_source": f"/sdk/{ack.subscriber}",
        "ce_type": APPLIED_EVENT_TYPE,
        "ce_subject": subject,
        "ce_time": datetime.now(UTC).isoformat(),
        "content-type": CONTENT_TYPE,
    }
    # The change's trace goes on to the consent service's proof handling.
    encoded = [(name, value.encode()) for name, value in headers.items()] + current_headers()
    return subject.encode(), ack.model_dump_json().encode(), encoded


class AckPublisher:
    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        subscriber: str,
        client_id: str,
        kafka_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.topic = topic
        self.subscriber = subscriber
        self.sent = 0
        self.failed = 0
        self._pending: set[asyncio.Future[Any]] = set()
        self._options: dict[str, Any] = {
            **(kafka_options or {}),
            "bootstrap_servers": bootstrap_servers,
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
        }
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        # Built here, not in __init__: aiokafka binds a client to the running event loop.
        producer = AIOKafkaProducer(**self._options)
        await producer.start()
        self._producer = producer

    async def publish(self, subject_id: uuid.UUID, version: int, event_id: uuid.UUID) -> None:
        """Queue the acknowledgement; returns once it is buffered, not once it is delivered."""
        ack = ConsentApplied(
            subscriber=self.subscriber,
            subject_id=subject_id,
            version=version,
            event_id=event_id,
            applied_at=datetime.now(UTC),
        )
        if self._producer is None:
            raise RuntimeError("the acknowledgement publisher is not started")
        key, value, headers = encode_applied(ack)
        try:
            future = await self._producer.send(self.topic, value=value, key=key, headers=headers)
        except Exception:
            self.failed += 1
            log.exception(
                "could not queue a consent acknowledgement",
                extra={"subject_id": str(subject_id), "version": version},
            )
            return
        self._pending.add(future)
        future.add_done_callback(self._settled)

    def _settled(self, future: asyncio.Future[Any]) -> None:
        self._pending.discard(future)
        error = None if future.cancelled() else future.exception()
        if future.cancelled() or error is not None:
            self.failed += 1
            log.error("a consent acknowledgement was not delivered", exc_info=error)
        else:
            self.sent += 1

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            await producer.flush()
        finally:
            await producer.stop()
