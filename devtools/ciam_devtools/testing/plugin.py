"""Pytest plugin: real Kafka, PostgreSQL and Redis for every test suite of the project.

Each server comes from, in order: the environment (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL with an
admin database, REDIS_URL); testcontainers when a Docker engine answers; else a local process
(ciam_devtools.devstack). Servers live for the session; tests are isolated by a unique topic
prefix (so unique topics and consumer groups) and a fresh database per test, cloned from a
template migrated once per service.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from ciam_devtools.devstack import start_kafka, start_postgres, start_redis
from ciam_devtools.testing.issuer import TokenIssuer


def _docker_engine_answers() -> bool:
    if os.environ.get("CIAM_NO_DOCKER"):
        return False
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    import warnings

    try:
        import docker
    except ImportError:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        client = None
        try:
            client = docker.from_env(timeout=2)
            return bool(client.ping())
        except Exception:
            return False
        finally:
            if client is not None:
                client.close()


class Infrastructure:
    def __init__(self) -> None:
        self._stack = ExitStack()
        self.workdir = Path(tempfile.mkdtemp(prefix="ciam-tests-"))
        self._stack.callback(shutil.rmtree, self.workdir, True)
        self.docker = _docker_engine_answers()
        self.kafka_start_seconds: float | None = None
        self._kafka: str | None = None
        self._postgres: str | None = None
        self._redis: str | None = None

    def close(self) -> None:
        self._stack.close()

    def _enter(self, cm: AbstractContextManager[Any]) -> Any:
        return self._stack.enter_context(cm)

    @property
    def kafka(self) -> str:
        if self._kafka is None:
            if env := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
                self._kafka = env
            elif self.docker:
                from testcontainers.kafka import KafkaContainer

                container = self._enter(KafkaContainer("apache/kafka:4.1.1").with_kraft())
                self._kafka = container.get_bootstrap_server()
            else:
                proc, self._kafka, self.kafka_start_seconds = start_kafka(self.workdir / "kafka")
                self._stack.callback(proc.stop)
        return self._kafka

    @property
    def postgres(self) -> str:
        """An admin URL (postgresql+asyncpg) of a server where tests may create databases."""
        if self._postgres is None:
            if env := os.environ.get("DATABASE_URL"):
                self._postgres = env
            elif self.docker:
                from testcontainers.postgres import PostgresContainer

                container = self._enter(PostgresContainer("postgres:15", driver="asyncpg"))
                self._postgres = container.get_connection_url()
            else:
                proc, self._postgres, data = start_postgres(self.workdir / "postgres")
                self._stack.callback(shutil.rmtree, data, True)
                self._stack.callback(proc.stop)
        return self._postgres

    @property
    def redis(self) -> str:
        if self._redis is None:
            if env := os.environ.get("REDIS_URL"):
                self._redis = env
            elif self.docker:
                from testcontainers.redis import RedisContainer

                container = self._enter(RedisContainer("redis:7"))
                host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
                self._redis = f"redis://{host}:{port}/0"
            else:
                proc, self._redis = start_redis(self.workdir / "redis")
                self._stack.callback(proc.stop)
        return self._redis


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    infra = Infrastructure()
    try:
        yield infra
    finally:
        infra.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(infrastructure: Infrastructure) -> str:
    return infrastructure.kafka


@pytest.fixture(scope="session")
def postgres_admin_url(infrastructure: Infrastructure) -> str:
    return infrastructure.postgres


@pytest.fixture(scope="session")
def redis_url(infrastructure: Infrastructure) -> str:
    return infrastructure.redis


@pytest.fixture(scope="session")
def token_issuer() -> Iterator[TokenIssuer]:
    """A loopback OIDC issuer (discovery + JWKS, ES256) whose `mint()` makes access tokens in
    the auth service's contract; point a service at it with `settings_kwargs(token_issuer=)`."""
    with TokenIssuer() as issuer:
        yield issuer


@pytest.fixture
def topic_prefix() -> str:
    """Unique per test: its topics and consumer groups are its own on the shared broker."""
    return f"t{uuid.uuid4().hex[:10]}."


def database_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


async def _admin_execute(admin_url: str, *statements: str) -> None:
    import asyncpg

    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class DatabaseFactory:
    """Fresh, migrated databases cloned from one template per migrations package."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._templates: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self.created: list[str] = []

    async def _template(self, migrations_package: str) -> str:
        async with self._lock:
            if migrations_package not in self._templates:
                from ciam_shared.db.migrations import upgrade_async

                name = f"tmpl_{migrations_package.split('.')[0]}_{uuid.uuid4().hex[:6]}"
                await _admin_execute(self.admin_url, f'CREATE DATABASE "{name}"')
                await upgrade_async(migrations_package, database_url(self.admin_url, name))
                self._templates[migrations_package] = name
            return self._templates[migrations_package]

    async def create(self, migrations_package: str) -> str:
        template = await self._template(migrations_package)
        name = f"{migrations_package.split('.')[0]}_{uuid.uuid4().hex[:10]}"
        await _admin_execute(self.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.created.append(name)
        return database_url(self.admin_url, name)

    async def create_empty(self) -> str:
        name = f"empty_{uuid.uuid4().hex[:10]}"
        await _admin_execute(self.admin_url, f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return database_url(self.admin_url, name)

    async def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        await _admin_execute(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def database_factory(postgres_admin_url: str) -> DatabaseFactory:
    return DatabaseFactory(postgres_admin_url)


@pytest.fixture
async def fresh_database(
    database_factory: DatabaseFactory,
) -> AsyncIterator[Callable[[str], Any]]:
    """`await fresh_database("ciam_consent.migrations")` -> URL of a new migrated database
    (`await fresh_database()`: an empty one); every one is dropped after the test."""
    urls: list[str] = []

    async def make(migrations_package: str | None = None) -> str:
        if migrations_package is None:
            url = await database_factory.create_empty()
        else:
            url = await database_factory.create(migrations_package)
        urls.append(url)
        return url

    yield make
    for url in urls:
        await database_factory.drop(url)


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[Any]:
    """Run an ASGI app's lifespan and give an httpx client bound to it."""
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def eventually(
    probe: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.05
) -> Any:
    """Poll an async `probe` until it returns a truthy value (no sleeps to wait for events)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def pytest_report_header(config: pytest.Config) -> str:
    return "ciam: real Kafka, PostgreSQL and Redis (env, testcontainers or local processes)"


async def publish_event(bootstrap: str, event: Any, *, prefix: str, times: int = 1) -> None:
    """Publish a CloudEvent straight to its topic (as another service's relay would)."""
    from aiokafka import AIOKafkaProducer

    from ciam_shared.events import encode

    key, value, headers = encode(event)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for _ in range(times):
            await producer.send_and_wait(
                f"{prefix}{event.data.topic_base_name}",
                value=value,
                key=key,
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
    finally:
        await producer.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """The system's Chromium under Playwright, one per test session (each test opens its own
    context: cookies, viewport and locale are per context)."""
    from ciam_devtools.testing.browser import chromium

    async with chromium() as launched:
        yield launched


def settings_kwargs(
    database_url: str,
    *,
    kafka: str,
    redis: str,
    topic_prefix: str,
    token_issuer: TokenIssuer | None = None,
) -> dict[str, Any]:
    """Settings for a service under test: a fresh database, isolated topics, no migrations
    (the database is cloned from a migrated template), and bearer tokens verified against
    `token_issuer` (the `token_issuer` fixture) when given."""
    kwargs: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka,
        "redis_url": redis,
        "topic_prefix": topic_prefix,
        "environment": "test",
        "migrate_on_start": False,
        "outbox_sweep_seconds": 1.0,
    }
    if token_issuer is not None:
        kwargs |= {"token_issuer": token_issuer.url, "token_audience": token_issuer.audience}
    return kwargs


class ServiceProcess:
    """A service as a separate process (uvicorn), for end-to-end tests across processes."""

    def __init__(self, service: str, env: dict[str, str], workdir: Path) -> None:
        from ciam_devtools.devstack import free_port

        self.service = service
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | env
        self.workdir = workdir
        self.proc: Any = None
        self.command_prefix: list[str] = []  # e.g. ["taskset", "-c", "0"] to pin it to a core

    def start(self, timeout: float | None = None) -> ServiceProcess:
        """Waits for /readyz at most `timeout` seconds (default CIAM_READY_TIMEOUT)."""
        import sys

        from ciam_devtools.devstack import ManagedProcess
        from ciam_devtools.devstack.probes import readyz

        self.proc = ManagedProcess(
            self.service,
            [
                *self.command_prefix,
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                f"ciam_{self.service}.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
            ],
            log_path=self.workdir / f"{self.service}-{self.port}.log",
            env=self.env,
            cwd=self.workdir,
        ).start()

        url = self.url
        self.proc.wait_until(
            lambda: readyz(url), timeout=timeout, what=f"{url}/readyz of the {self.service}"
        )
        return self

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to finish anything."""
        import signal

        if self.proc is not None and self.proc.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def log_tail(self) -> str:
        return str(self.proc.log_tail(60)) if self.proc is not None else ""
