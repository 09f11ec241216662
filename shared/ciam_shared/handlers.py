"""Kafka handlers as module-level FastStream subscribers with typed payloads.

A service's `events` module declares each handler as a plain function whose first parameter is
the event's data model (the record's body in CloudEvents binary mode), so FastStream validates it
and the service's AsyncAPI document (`/asyncapi`) lists it as the consumed payload. What the
handler needs arrives through FastStream's dependency injection, not a closure:

    async def on_user_deleted(data: UserDeleted, session: Session, event: Event) -> None: ...

- `Session`: the transaction of this record, already holding the record of the processed
  event id (the inbox): the effect and the dedupe commit together, or neither does.
- `Event`: the whole CloudEvent (id, source, time, and the data again), for a handler that needs
  the envelope (a cause id, a use case that takes the event).
- a service's own parts: `Annotated[Parts, Context(PARTS)]`, set once per broker with
  `provide_parts`.

`inbox_subscriber` keeps every guarantee `broker.subscribe_idempotent` gives (an inbox row in
the effect's transaction, the offset committed only after the handler returned, a redelivery
after a failure with a short pause, the tracing span continuing `traceparent`, records of types
without a handler acknowledged and skipped, a record that does not decode raised before any
transaction so it is not acknowledged). Tests reach a handler through FastStream's
`TestKafkaBroker` with the same subscriber, so the inbox and the transaction are exercised too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Annotated, Any, TypeVar

from faststream import BaseMiddleware
from faststream._internal.context.context_type import Context as FastStreamContext
from faststream.exceptions import SubscriberNotFound
from faststream.kafka import KafkaBroker, KafkaMessage, KafkaRouter
from faststream.kafka.subscriber.usecase import LogicSubscriber
from faststream.message import StreamMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_shared.broker import RETRY_DELAY_SECONDS, SAFE_ACK_POLICY
from ciam_shared.db import unit_of_work
from ciam_shared.events import CloudEvent, EventData, UnknownEventType, decode
from ciam_shared.inbox import record_processed
from ciam_shared.observability import tracing
from ciam_shared.topics import Topic

log = logging.getLogger(__name__)

SESSION = "ciam_session"
EVENT = "ciam_event"
PARTS = "ciam_parts"


class Context(FastStreamContext):
    """FastStream's `Context`, resolved on the event loop. fast_depends runs a parameter's
    `use` in a worker thread unless it is a coroutine function, and FastStream's is not: two
    thread hops per record for a handler with two context parameters (a py-spy profile of
    the notifier under load: 4% of its CPU, and as much again in the worker threads). The
    services' handlers take their context parameters through this class."""

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        resolved: dict[str, Any] = super().use(**kwargs)
        return resolved


Session = Annotated[AsyncSession, Context(SESSION)]
Event = Annotated[CloudEvent[Any], Context(EVENT)]

F = TypeVar("F", bound=Callable[..., Any])
Subscriber = LogicSubscriber[Any]


def provide_parts(broker: KafkaBroker, parts: object, *, key: str = PARTS) -> None:
    """The service's parts for its handlers (`Annotated[Parts, Context(PARTS)]`). One object
    per key and broker: a service of several capabilities gives each its own key (no dots:
    `Context` reads a dot as an attribute path)."""
    broker.context.set_global(key, parts)


def event_type_of(message: StreamMessage[Any]) -> str:
    value: object = (message.headers or {}).get("ce_type", "")
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class SkipUnhandled(BaseMiddleware):
    """A record no handler of the subscriber takes (its filter) is acknowledged and skipped,
    as `subscribe_idempotent` did: FastStream would raise SubscriberNotFound and, with
    NACK_ON_ERROR, deliver it again forever."""

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        return exc_type is not None and issubclass(exc_type, SubscriberNotFound)


def _inbox_middleware(
    group_id: str, topic_name: str, sessions: async_sessionmaker[AsyncSession] | None
) -> type[BaseMiddleware]:
    class Inbox(SkipUnhandled):
        async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
            # A record that does not decode (no ce_* headers, a body that fails its schema)
            # raises before any transaction: not acknowledged, as before.
            try:
                event = decode(msg.headers, msg.body)
            except UnknownEventType as exc:  # pragma: no cover - the filter let it through
                log.debug("skipping event of unknown type %s", exc)
                return None
            raw = msg.raw_message
            # The handler runs in the producer's trace; what it stages continues it.
            with tracing.consume_span(
                getattr(raw, "topic", topic_name),
                msg.headers,
                group=group_id,
                partition=getattr(raw, "partition", None),
                offset=getattr(raw, "offset", None),
                message_id=str(event.id),
            ):
                try:
                    if sessions is None:  # the handler keeps its own inbox (see inbox_subscriber)
                        with self.context.scope(EVENT, event):
                            return await call_next(msg)
                    async with unit_of_work(sessions) as session:
                        if not await record_processed(session, group_id, event.id):
                            return None  # a duplicate: applied once already
                        with self.context.scope(SESSION, session), self.context.scope(EVENT, event):
                            return await call_next(msg)
                except Exception:
                    log.exception(
                        "handler of %s failed; the record will be delivered again", event.type
                    )
                    await asyncio.sleep(RETRY_DELAY_SECONDS)  # no hot loop on a failing dependency
                    raise

    return Inbox


def inbox_subscriber(
    broker: KafkaBroker,
    *,
    topic: Topic,
    prefix: str,
    group_id: str,
    sessions: async_sessionmaker[AsyncSession] | None,
    description: str = "",
    fetch_max_wait_ms: int = 500,
) -> Subscriber:
    """A consumer group on `topic` whose handlers (`handles`) apply each record at most once.

    `fetch_max_wait_ms`: see `broker.subscribe_idempotent`. `sessions=None`: no transaction
    is opened for the handler, which records the event id in the inbox itself, with its
    effects, in one statement (the notifier's consent-change consumer: one round trip); the
    event is in the context (`EVENT`), and the rest (offsets, retries, the span, records of
    other types skipped) is the same.
    """
    topic_name = topic.name(prefix)
    # Middlewares are a router's (or the broker's): one router per consumer group.
    router = KafkaRouter(middlewares=[_inbox_middleware(group_id, topic_name, sessions)])
    subscriber: Subscriber = router.subscriber(
        topic_name,
        group_id=group_id,
        ack_policy=SAFE_ACK_POLICY,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
        title=f"{topic_name}:{group_id}",
        description=description or topic.description,
    )
    broker.include_router(router)
    return subscriber


def handles(subscriber: Subscriber, *models: type[EventData]) -> Callable[[F], F]:
    """Register a module-level handler on `subscriber` for the records of `models` (`ce_type`)."""
    types = frozenset(model.event_type for model in models)

    # A coroutine: FastStream runs a plain function filter in a worker thread.
    async def matches(message: KafkaMessage) -> bool:
        return event_type_of(message) in types

    def register(handler: F) -> F:
        subscriber(filter=matches)(handler)
        return handler

    return register
