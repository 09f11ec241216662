"""FastStream's KafkaBroker with the project's safe defaults, and a subscriber that acks late.

- Producer: acks=all and the idempotent producer, always.
- Subscribers: a consumer group `<service>.<purpose>`, auto-commit off and
  AckPolicy.NACK_ON_ERROR: the offset is committed only after the handler returned; on an error
  the consumer seeks back and the record is delivered again. FastStream's default (ACK_FIRST)
  commits before the handler runs and would silently lose a record whose handler failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_shared.db import unit_of_work
from ciam_shared.events import CloudEvent, EventData, UnknownEventType, decode
from ciam_shared.inbox import record_processed
from ciam_shared.observability import tracing
from ciam_shared.topics import Topic

log = logging.getLogger(__name__)

SAFE_ACK_POLICY = AckPolicy.NACK_ON_ERROR
RETRY_DELAY_SECONDS = 0.5

Handler = Callable[[AsyncSession, CloudEvent[Any]], Awaitable[None]]


def create_broker(bootstrap_servers: str, *, client_id: str, description: str) -> KafkaBroker:
    # FastStream takes a string as one address: a cluster's list (`a:9092,b:9092`) goes as a
    # list, or the broker would look up a host named by the whole string.
    return KafkaBroker(
        [server.strip() for server in bootstrap_servers.split(",") if server.strip()],
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        description=description,
        logger=logging.getLogger(f"{client_id}.broker"),
    )


async def start_broker(broker: KafkaBroker) -> None:
    """`broker.start()` with the subscribers started together: FastStream starts them one
    after another, and each consumer's start waits for its group's assignment (find the
    coordinator, join, sync, fetch offsets). On a loaded machine that was 2.5-6.7 s of a
    service's restart (bench/README.md, start-up). The same steps as `KafkaBroker.start`."""
    await broker.connect()
    results = await asyncio.gather(
        *(subscriber.start() for subscriber in broker.subscribers), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result  # the lifespan's failure stops the service (and every subscriber)
    for publisher in broker.publishers:
        await publisher.start()
    broker.running = True


def subscribe_idempotent(
    broker: KafkaBroker,
    *,
    topic: Topic,
    prefix: str,
    group_id: str,
    sessions: async_sessionmaker[AsyncSession],
    handlers: dict[type[EventData], Handler],
    description: str = "",
    fetch_max_wait_ms: int = 500,
) -> None:
    """Subscribe `handlers` (one per event type) to `topic`, each record applied at most once.

    The handler runs in one transaction with the record of the processed event id, so a
    redelivered record (after a crash, or a duplicate publish) changes nothing the second time.
    Records of types without a handler are acknowledged and skipped.

    `fetch_max_wait_ms` (aiokafka's, default 500): a latency-sensitive consumer lowers it. A
    record can wait up to this long when it lands on a partition left out of the fetch request
    already in flight (aiokafka leaves out partitions whose fetched records are not consumed
    yet, and waits for that request before sending the next).
    """
    by_type = {model.event_type: handler for model, handler in handlers.items()}
    topic_name = topic.name(prefix)

    async def on_record(message: KafkaMessage) -> None:
        try:
            event = decode(message.headers, message.body)
        except UnknownEventType as exc:
            log.debug("skipping event of unknown type %s", exc)
            return
        handler = by_type.get(event.type)
        if handler is None:
            return
        raw = message.raw_message
        # The handler runs in the producer's trace; what it stages continues it.
        with tracing.consume_span(
            getattr(raw, "topic", topic_name),
            message.headers,
            group=group_id,
            partition=getattr(raw, "partition", None),
            offset=getattr(raw, "offset", None),
            message_id=str(event.id),
        ):
            try:
                async with unit_of_work(sessions) as session:
                    if await record_processed(session, group_id, event.id):
                        await handler(session, event)
            except Exception:
                log.exception(
                    "handler of %s failed; the record will be delivered again", event.type
                )
                await asyncio.sleep(RETRY_DELAY_SECONDS)  # no hot loop on a failing dependency
                raise

    on_record.__name__ = f"on_{group_id.replace('.', '_').replace('-', '_')}"
    broker.subscriber(
        topic.name(prefix),
        group_id=group_id,
        ack_policy=SAFE_ACK_POLICY,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
        title=f"{topic.name(prefix)}:{group_id}",
        description=description or topic.description,
    )(on_record)


def document_publishers(
    broker: KafkaBroker, prefix: str, events: Sequence[type[EventData]]
) -> None:
    """Declare what a service publishes (through its outbox) so AsyncAPI lists it."""
    for model in events:
        broker.publisher(
            f"{prefix}{model.topic_base_name}",
            title=f"{prefix}{model.topic_base_name}:{model.event_type}",
            description=(model.__doc__ or "").strip(),
            schema=model,
        )


def asyncapi_document(broker: KafkaBroker, *, title: str, version: str = "0.1.0") -> Any:
    from faststream.specification import AsyncAPI

    return AsyncAPI(broker, title=title, version=version).to_specification().to_jsonable()
