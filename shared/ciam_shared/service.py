"""What every service is made of: settings -> engine, sessions, Redis, broker, outbox relay.

`ServiceRuntime` is built by a service's `create_app()` (nothing connects at import time) and
started by the app's lifespan; `build_app` adds the shared edge: problem details, request ids,
`/healthz`, `/readyz`, `/metrics` and `/asyncapi`.

A service's own parts (its workers, views, caches) are one typed container, the runtime's
generic parameter: `ServiceRuntime.build(...).with_parts(ConsentParts(...))` gives a
`ServiceRuntime[ConsentParts]`, and `parts_dependency(ConsentParts)` hands them to routes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Generic, TypeVar

import redis.asyncio as aioredis
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from typing_extensions import TypeVar as DefaultTypeVar

from ciam_shared.broker import (
    asyncapi_document,
    create_broker,
    document_publishers,
    start_broker,
)
from ciam_shared.db import create_engine
from ciam_shared.db.migrations import upgrade_async
from ciam_shared.events import EventData
from ciam_shared.http.middleware import RequestContextMiddleware
from ciam_shared.http.openapi import document_problems, problem_responses
from ciam_shared.http.problems import install_problem_handlers, problem
from ciam_shared.inbox import PROCESSED_EVENTS
from ciam_shared.logging import configure_logging
from ciam_shared.observability import FASTAPI_TELEMETRY, instrument, start_watching
from ciam_shared.outbox import OUTBOX, WAKE, OutboxRelay
from ciam_shared.retention import Retention, run_pruning
from ciam_shared.settings import BaseServiceSettings
from ciam_shared.tokens import TokenVerifier
from ciam_shared.topics import ALL_TOPICS, Topic, ensure_topics

log = logging.getLogger(__name__)
STOP_WAIT_SECONDS = 10.0

# Redis commands (sessions, rate limits) give up after this long.
REDIS_SOCKET_TIMEOUT = 2.0


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    metadata: MetaData
    migrations_package: str
    publishes: Sequence[type[EventData]] = ()
    topics: Sequence[Topic] = ALL_TOPICS


# The service's own parts. Defaults to None, so a bare `ServiceRuntime` is a runtime without
# them (what `build` returns, before `with_parts`).
PartsT = DefaultTypeVar("PartsT", default=None)
P = TypeVar("P")


@dataclass
class ServiceRuntime(Generic[PartsT]):
    spec: ServiceSpec
    settings: BaseServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    broker: KafkaBroker
    relay: OutboxRelay
    parts: PartsT
    verifier: TokenVerifier | None = None  # None: no token issuer configured
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    start_times: StartTimes = field(default_factory=lambda: StartTimes())

    @classmethod
    def build(cls, spec: ServiceSpec, settings: BaseServiceSettings) -> ServiceRuntime[None]:
        engine = create_engine(
            settings.require_database_url(),
            pre_ping=settings.database_pre_ping,
            pool_size=settings.database_pool_size,
        )
        outbox = _table(spec.metadata, OUTBOX)
        processed = _table(spec.metadata, PROCESSED_EVENTS)
        relay_box: list[OutboxRelay] = []
        sessions = async_sessionmaker(
            engine,
            expire_on_commit=False,
            autoflush=False,
            info={OUTBOX: outbox, PROCESSED_EVENTS: processed, WAKE: lambda: relay_box[0].wake()},
        )
        relay = OutboxRelay(
            service=spec.name,
            table=outbox,
            sessions=sessions,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            sweep_seconds=settings.outbox_sweep_seconds,
        )
        relay_box.append(relay)
        broker = create_broker(
            settings.kafka_bootstrap_servers, client_id=spec.name, description=spec.title
        )
        document_publishers(broker, settings.topic_prefix, spec.publishes)
        redis = aioredis.from_url(settings.redis_url, socket_timeout=REDIS_SOCKET_TIMEOUT)
        verifier = (
            TokenVerifier(
                settings.token_issuer,
                settings.token_audience,
                jwks_url=settings.token_jwks_url or None,
            )
            if settings.token_issuer
            else None
        )
        return ServiceRuntime(
            spec, settings, engine, sessions, redis, broker, relay, parts=None, verifier=verifier
        )

    def with_parts(self, parts: P) -> ServiceRuntime[P]:
        """This runtime carrying the service's own parts, which are usually built from its
        sessions or Redis (hence two steps). Everything else is shared, not copied: use the
        returned runtime from here on."""
        return ServiceRuntime(
            self.spec,
            self.settings,
            self.engine,
            self.sessions,
            self.redis,
            self.broker,
            self.relay,
            parts=parts,
            verifier=self.verifier,
            tasks=self.tasks,
            start_times=self.start_times,
        )

    @property
    def topic_prefix(self) -> str:
        return self.settings.topic_prefix

    async def start(self) -> None:
        phase = self.start_times.phase
        if self.settings.migrate_on_start:
            async with phase("migrations"):
                await upgrade_async(self.spec.migrations_package, self.settings.database_url)
        # The pool's first connection (and the dialect's first-connect queries) now, not in
        # the first /readyz, whose time limit it used to exceed on a loaded machine.
        async with phase("database"), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        if self.settings.create_topics:
            async with phase("topics"):
                await ensure_topics(
                    self.settings.kafka_bootstrap_servers,
                    self.spec.topics,
                    prefix=self.topic_prefix,
                )
        async with phase("broker"):
            await start_broker(self.broker)
        if self.settings.outbox_relay_enabled:
            async with phase("outbox relay"):
                await self.relay.start()
        self.spawn("pruning", run_pruning(self.sessions, *self._bookkeeping(), self._retention()))

    def _bookkeeping(self) -> tuple[Table, Table]:
        return _table(self.spec.metadata, OUTBOX), _table(self.spec.metadata, PROCESSED_EVENTS)

    def _retention(self) -> Retention:
        settings = self.settings
        return Retention(
            outbox_keep=timedelta(days=settings.outbox_keep_days),
            processed_keep=timedelta(days=settings.processed_events_keep_days),
            interval_seconds=settings.prune_interval_seconds,
        )

    def spawn(self, name: str, coroutine: Coroutine[Any, Any, None]) -> None:
        """A background task of the service, cancelled first when the service stops."""
        self.tasks.append(asyncio.create_task(coroutine, name=f"{self.spec.name}-{name}"))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            # Bounded: a task that swallows its cancellation is named in the log, and the
            # service still stops (a stop that waited for it hung forever once).
            _, pending = await asyncio.wait(self.tasks, timeout=STOP_WAIT_SECONDS)
            for task in pending:
                log.error("a background task did not stop", extra={"task": task.get_name()})
        await self.relay.stop()
        await self.broker.stop()
        await self.redis.aclose()
        await self.engine.dispose()
        if self.verifier is not None:
            await self.verifier.aclose()

    async def readiness(self) -> dict[str, str]:
        checks = {
            "database": self._check_db(),
            "redis": self._check_redis(),
            "kafka": self._check_kafka(),
        }
        results = await asyncio.gather(*checks.values(), return_exceptions=True)
        return {
            name: "ok" if result is True else f"failed: {result!r}"[:200]
            for name, result in zip(checks, results, strict=True)
        }

    async def _check_db(self) -> bool:
        limit = self.settings.readiness_timeout_seconds
        async with asyncio.timeout(limit), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    async def _check_redis(self) -> bool:
        async with asyncio.timeout(self.settings.readiness_timeout_seconds):
            return bool(await self.redis.ping())

    async def _check_kafka(self) -> bool:
        return await self.broker.ping(timeout=self.settings.readiness_timeout_seconds)


def _table(metadata: MetaData, name: str) -> Table:
    if name not in metadata.tables:
        raise RuntimeError(f"the service metadata lacks the shared `{name}` table")
    return metadata.tables[name]


async def get_runtime(request: Request) -> ServiceRuntime[Any]:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a hop per request.
    runtime: ServiceRuntime[Any] = request.app.state.runtime
    return runtime


# Any service's runtime; a service's routes take its parts through `parts_dependency`.
RuntimeDep = Annotated[ServiceRuntime[Any], Depends(get_runtime)]


def parts_dependency(kind: type[P]) -> Callable[[Request], Awaitable[P]]:
    """A FastAPI dependency giving the running service's parts, checked to be a `kind`
    (`PartsDep = Annotated[ConsentParts, Depends(parts_dependency(ConsentParts))]`)."""

    async def get_parts(request: Request) -> P:
        parts = request.app.state.runtime.parts
        if not isinstance(parts, kind):
            raise TypeError(f"the service's parts are a {type(parts).__name__}, not a {kind}")
        return parts

    return get_parts


async def _transaction(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One request, one transaction: committed before the response leaves, rolled back on error."""
    async with runtime.sessions() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(_transaction, scope="function")]


class StartTimes:
    """How long each step of a service's start took, logged once it is ready to serve: what
    a slow restart waited for (the migrations, the broker, a view's bootstrap, ...)."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.phases: dict[str, float] = {}

    @asynccontextmanager
    async def phase(self, name: str) -> AsyncIterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round(time.perf_counter() - began, 3)

    def report(self, service: str) -> None:
        total = time.perf_counter() - self.began
        log.info(
            "%s started in %.2f s",
            service,
            total,
            extra={"start_seconds": round(total, 3), "start_phases": dict(self.phases)},
        )


def _hook_name(hook: Callable[..., Any]) -> str:
    name = getattr(hook, "__name__", "") or type(hook).__name__
    if name == "<lambda>":  # a hook wrapping another: its code names what it calls
        code = getattr(hook, "__code__", None)
        names = (*getattr(code, "co_names", ()), *getattr(code, "co_freevars", ()))
        name = next((n for n in names if not n.startswith("_")), name)
    return str(name)


def build_app(
    runtime: ServiceRuntime[P],
    *,
    version: str = "0.1.0",
    routers: Sequence[Any] = (),
    on_startup: Sequence[Callable[[ServiceRuntime[P]], Any]] = (),
    on_shutdown: Sequence[Callable[[ServiceRuntime[P]], Any]] = (),
) -> FastAPI:
    spec = runtime.spec
    configure_logging(spec.name, runtime.settings.log_level)
    # Observability hook (ciam_shared.observability): the lag and outbox gauges start with
    # the service; `instrument` below adds the HTTP spans.
    on_startup = (*on_startup, start_watching)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        for hook in on_startup:
            async with runtime.start_times.phase(_hook_name(hook)):
                result = hook(runtime)
                if asyncio.iscoroutine(result):
                    await result
        runtime.start_times.report(spec.name)
        try:
            yield
        finally:
            await runtime.stop()  # background tasks first, so hooks may close what they used
            for hook in on_shutdown:
                result = hook(runtime)
                if asyncio.iscoroutine(result):
                    await result

    app = FastAPI(title=spec.title, version=version, lifespan=lifespan, telemetry=FASTAPI_TELEMETRY)
    app.state.runtime = runtime
    app.add_middleware(RequestContextMiddleware, service=spec.name)
    install_problem_handlers(app)
    document_problems(app)
    instrument(app, spec.name)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @app.get("/readyz", tags=["ops"], response_model=None, responses=problem_responses(503))
    async def readyz() -> JSONResponse | dict[str, Any]:
        checks = await runtime.readiness()
        if all(v == "ok" for v in checks.values()):
            return {"status": "ready", "service": spec.name, "checks": checks}
        return problem(503, title="Not ready", type_slug="not-ready", checks=checks)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi", tags=["ops"])
    async def asyncapi() -> Any:
        return asyncapi_document(runtime.broker, title=f"{spec.title} events", version=version)

    for router in routers:
        app.include_router(router)
    return app
