"""Live streams (Server-Sent Events) of consent changes: for an app (every subject) and for a
signed-in customer (their own). A client that reconnects with `Last-Event-ID` gets what it
missed, from the stored stream events, then follows live changes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_notifier import repository
from ciam_notifier.models import StreamEvent

KEEPALIVE_SECONDS = 15.0
BATCH = 500


class Broadcaster:
    """Wakes every open stream when new stream events are committed in this process (the
    keep-alive timeout also re-reads, which covers events committed by a replica). The
    generation counter closes the gap between a stream's read and its wait."""

    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()

    def notify(self) -> None:
        self.generation += 1
        self._event.set()
        self._event = asyncio.Event()

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
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[bytes]:
    yield b"retry: 2000\n\n"
    while True:
        seen = broadcaster.generation
        async with sessions() as session:
            events = await repository.stream_events_after(session, after, subject_id, BATCH)
        for event in events:
            after = event.seq
            yield frame(event)
        if len(events) == BATCH:
            continue
        if not await broadcaster.wait(seen, keepalive):
            yield b": keep-alive\n\n"
