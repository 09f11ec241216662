"""A service's own parts ride on its runtime, typed, and reach its routes through one
dependency that checks what they are."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from sqlalchemy import MetaData

from ciam_shared import service
from ciam_shared.inbox import processed_events_table
from ciam_shared.outbox import outbox_table
from ciam_shared.service import ServiceRuntime, ServiceSpec, parts_dependency
from ciam_shared.settings import BaseServiceSettings


@dataclass(frozen=True)
class DemoParts:
    greeting: str


@dataclass(frozen=True)
class OtherParts:
    greeting: str


@pytest.fixture
async def runtime() -> AsyncIterator[ServiceRuntime[None]]:
    metadata = MetaData()
    outbox_table(metadata)
    processed_events_table(metadata)
    spec = ServiceSpec(name="demo", title="Demo", metadata=metadata, migrations_package="demo")
    # Nothing connects: the engine, Redis and the broker are lazy until the runtime starts.
    settings = BaseServiceSettings(
        environment="test", database_url="postgresql+asyncpg://demo@127.0.0.1:9/demo"
    )
    built = ServiceRuntime.build(spec, settings)
    yield built
    await built.redis.aclose()
    await built.engine.dispose()


def test_a_runtime_with_parts_shares_everything_else(runtime: ServiceRuntime[None]) -> None:
    typed = runtime.with_parts(DemoParts("hello"))
    assert runtime.parts is None
    assert typed.parts == DemoParts("hello")
    for name in ("spec", "settings", "engine", "sessions", "redis", "broker", "relay", "tasks"):
        assert getattr(typed, name) is getattr(runtime, name), name


async def test_a_route_gets_the_parts_and_another_kind_is_refused(
    runtime: ServiceRuntime[None],
) -> None:
    app = FastAPI()
    app.state.runtime = runtime.with_parts(DemoParts("hello"))

    @app.get("/greeting")
    async def greeting(parts: Annotated[DemoParts, Depends(parts_dependency(DemoParts))]) -> str:
        return parts.greeting

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        assert (await client.get("/greeting")).json() == "hello"

    request = Request({"type": "http", "app": app, "headers": []})
    with pytest.raises(TypeError, match="DemoParts"):
        await parts_dependency(OtherParts)(request)


async def test_stop_names_a_task_that_swallows_its_cancellation_and_still_stops(
    runtime: ServiceRuntime[None], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(service, "STOP_WAIT_SECONDS", 0.2)
    released = asyncio.Event()

    async def stubborn() -> None:
        # What redis-py's pub/sub once did: the cancellation caught and the loop going on.
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.01)

    async def obedient() -> None:
        await asyncio.Event().wait()

    runtime.spawn("stubborn", stubborn())
    runtime.spawn("obedient", obedient())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="ciam_shared.service"):
        await asyncio.wait_for(runtime.stop(), timeout=30)
    stubborn_task, obedient_task = runtime.tasks
    assert obedient_task.cancelled()
    assert not stubborn_task.done()
    named = [getattr(r, "task", None) for r in caplog.records if "did not stop" in r.message]
    assert named == ["demo-stubborn"]
    released.set()
    await stubborn_task
