"""Live streams (Server-Sent Events) of consent changes: for an app (every subject) and for a
signed-in customer (their own). A client that reconnects with `Last-Event-ID` gets what it
missed, from the stored stream events, then follows live changes.

An app's stream carries only the purposes the app declares now, and ends once the app is
deleted at the auth service."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_notifier import repository
from ciam_notifier.models import StreamEvent
from ciam_shared.db import unit_of_work, utcnow

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
GAP = "dev.ciam.notifier.stream.gap"
BATCH = 500


def _end_if_cancelled() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Broadcaster:
    """Wakes every open stream when new stream events are committed: in this process at once,
    and in the other replicas through Redis pub/sub (`follow`), since the consent change may
    have been consumed by any replica of the consumer group. The keep-alive timeout also
    re-reads, which covers a lost pub/sub message. The generation counter closes the gap
    between a stream's read and its wait."""

    def __init__(self, redis: aioredis.Redis | None = None, channel: str = "") -> None:
        self.generation = 0
        self._event = asyncio.Event()
        self._redis = redis
        self._channel = channel
        self._publishing: set[asyncio.Task[None]] = set()

    def notify(self) -> None:
        """Stream events were committed here: wake this process's streams and the others'."""
        self._wake()
        if self._redis is not None:
            task = asyncio.get_running_loop().create_task(self._publish(self._redis))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    def _wake(self) -> None:
        self.generation += 1
        self._event.set()
        self._event = asyncio.Event()

    async def _publish(self, redis: aioredis.Redis) -> None:
        try:
            await redis.publish(self._channel, b"1")
        except Exception:
            log.warning("could not tell the other replicas' streams (keep-alive re-reads)")

    async def follow(self) -> None:
        """Wake this process's streams whenever any replica commits stream events (our own
        publish comes back too: one re-read with nothing new). Runs until cancelled,
        subscribing again after a lost connection."""
        if self._redis is None:
            return
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    while True:
                        # Short reads, and a check in between: redis-py can swallow a
                        # cancellation that lands in its socket read and read on (`listen()`
                        # then never ended, and the service's stop waited for it forever).
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        _end_if_cancelled()
                        if message is not None and message.get("type") == "message":
                            self._wake()
            except asyncio.CancelledError:
                raise
            except Exception:
                _end_if_cancelled()  # a cancellation may also surface as a connection error
                log.warning("stream wake-ups from other replicas lost; subscribing again")
                await asyncio.sleep(1.0)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def wait(self, seen: int, timeout: float) -> bool:
        """True when something was committed since generation `seen`, False on timeout."""
        if self.generation != seen:
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


def frame(event: StreamEvent) -> bytes:
    data = json.dumps({"event_id": str(event.event_id), **event.payload}, separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.event_type}\ndata: {data}\n\n".encode()


async def stream(
    sessions: async_sessionmaker[AsyncSession],
    broadcaster: Broadcaster,
    *,
    after: int,
    subject_id: uuid.UUID | None,
    declared: Callable[[], frozenset[str] | None] | None = None,
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[bytes]:
    """`declared`: for an app's stream, the purposes it declares now (None once the app is
    gone: the stream ends); None for a stream not limited by purpose."""
    yield b"retry: 2000\n\n"
    if after > 0:
        async with sessions() as session:
            oldest = await repository.oldest_stream_seq(session)
        if oldest is not None and oldest > after + 1:
            # What the client missed is older than the retention: tell it to resynchronise
            # (e.g. read current consents) instead of pretending the stream is complete.
            data = json.dumps({"resume_from": after, "oldest_available": oldest})
            yield f"event: {GAP}\ndata: {data}\n\n".encode()
    while True:
        seen = broadcaster.generation
        allowed = declared() if declared is not None else None
        if declared is not None and allowed is None:
            return
        async with sessions() as session:
            events = await repository.stream_events_after(session, after, subject_id, BATCH)
        for event in events:
            after = event.seq
            if allowed is None or _purpose(event) in allowed:
                yield frame(event)
        if len(events) == BATCH:
            continue
        if not await broadcaster.wait(seen, keepalive):
            yield b": keep-alive\n\n"


def _purpose(event: StreamEvent) -> object:
    data = event.payload.get("data")
    return data.get("purpose") if isinstance(data, dict) else None


async def prune_forever(
    sessions: async_sessionmaker[AsyncSession], retention: timedelta, every: float = 600.0
) -> None:
    """Stream events are kept `retention` long; older resumes get a gap event."""
    while True:
        try:
            async with unit_of_work(sessions) as session:
                await repository.prune_stream_events(session, utcnow() - retention)
        except Exception:
            log.exception("pruning stream events failed; retrying")
        await asyncio.sleep(every)
