"""The local runner: infrastructure plus the four services as separate processes.

    python -m ciam_shared.devstack.run        (what `make run` calls)

Starts Kafka and Redis locally unless KAFKA_BOOTSTRAP_SERVERS / REDIS_URL name running ones;
the services use SQLite files in var/ unless DATABASE_URL names a PostgreSQL server (then each
service gets its own database there). The services verify bearer tokens against the auth
service started here (TOKEN_ISSUER = its URL) unless --token-issuer names another issuer;
then the profile and notifier get their own clients for its internal API (credentials kept in
var/<service>-client.json, scope auth:contacts), which the auth service declares
(AUTH_SERVICE_CLIENTS) and upserts as it starts.
Waits until every /readyz answers, prints the URLs, and on Ctrl-C or SIGTERM stops everything
it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ciam_shared.devstack import demo
from ciam_shared.devstack.console import ensure_client, service_clients
from ciam_shared.devstack.errors import DevStackError
from ciam_shared.devstack.kafka import start_kafka
from ciam_shared.devstack.mailsink import mail_env, mail_ports, start_mail_sink
from ciam_shared.devstack.process import ManagedProcess, repo_root, require_free
from ciam_shared.devstack.redis import start_redis

SERVICES = ("auth", "profile", "consent", "notifier")
READY_TIMEOUT = 120.0


class Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def _ready(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL
        return bool(response.status == 200)


async def _create_databases(admin_url: str, names: list[str]) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        existing = {r["datname"] for r in await connection.fetch("SELECT datname FROM pg_database")}
        for name in names:
            if name not in existing:
                await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _database_urls(var: Path, db_prefix: str) -> dict[str, str]:
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        var.mkdir(parents=True, exist_ok=True)
        return {s: f"sqlite+aiosqlite:///{var / f'{s}.db'}" for s in SERVICES}
    names = {s: f"{db_prefix}{s}" for s in SERVICES}
    asyncio.run(_create_databases(admin, list(names.values())))
    base = admin.rpartition("/")[0]
    return {s: f"{base}/{name}" for s, name in names.items()}


@contextmanager
def system(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    root = repo_root()
    var = Path(args.var).resolve() if args.var else root / "var"
    with ExitStack() as stack:
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not kafka:
            started = time.monotonic()
            proc, kafka, _ = start_kafka(var / "kafka", args.kafka_port, args.kafka_port + 1)
            stack.callback(proc.stop)
            print(f"kafka     {kafka}  (ready in {time.monotonic() - started:.1f}s)", flush=True)
        redis = os.environ.get("REDIS_URL")
        if not redis:
            proc, redis = start_redis(var / "redis", args.redis_port)
            stack.callback(proc.stop)
            print(f"redis     {redis}", flush=True)
        # Auth and the notifier send to the sink unless the environment names their server.
        mail_smtp, mail_web = mail_ports(args.base_port)
        proc, mail_url = start_mail_sink(var, mail_smtp, mail_web)
        stack.callback(proc.stop)
        print(f"mail      {mail_url}  (SMTP port {mail_smtp}, files in var/mail)", flush=True)
        databases = _database_urls(var, args.db_prefix)
        # The auth service is on the base port: it issues every service's tokens.
        token_issuer = args.token_issuer or f"http://127.0.0.1:{args.base_port}"
        urls: dict[str, str] = {}
        procs: dict[str, ManagedProcess] = {}

        def start(offset: int, service: str, extra: dict[str, str]) -> None:
            port = args.base_port + offset
            require_free(port, f"the {service} service", "--base-port")
            prefix = service.upper()
            env = (
                os.environ
                | {
                    "KAFKA_BOOTSTRAP_SERVERS": kafka,
                    "REDIS_URL": redis,
                    f"{prefix}_DATABASE_URL": databases[service],
                    f"{prefix}_PORT": str(port),
                    "KAFKA_TOPIC_PREFIX": args.topic_prefix,
                    "TOKEN_ISSUER": token_issuer,
                }
                | mail_env(service, mail_smtp)
                | extra
            )
            proc = ManagedProcess(
                service,
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    f"ciam_{service}.main:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                ],
                log_path=var / "logs" / f"{service}.log",
                env=env,
                cwd=var,
            ).start()
            stack.callback(proc.stop)
            procs[service] = proc
            urls[service] = f"http://127.0.0.1:{port}"

        def wait(service: str) -> None:
            readyz = f"{urls[service]}/readyz"
            took = procs[service].wait_until(
                lambda url=readyz: _ready(url),  # type: ignore[misc]
                timeout=READY_TIMEOUT,
                what="/readyz",
            )
            print(f"{service:<9} {urls[service]}  (pid {procs[service].pid}, ready {took:.1f}s)",
                  flush=True)  # fmt: skip

        extras: dict[str, dict[str, str]] = {s: {} for s in SERVICES}
        if not args.token_issuer:  # the auth service started here issues the tokens
            extras |= service_clients(var)
        for offset, service in enumerate(SERVICES):
            start(offset, service, extras[service])
        for service in SERVICES:
            wait(service)
        if not args.token_issuer:
            auth_env = os.environ | {
                "AUTH_DATABASE_URL": databases["auth"],
                "KAFKA_BOOTSTRAP_SERVERS": kafka,
                "REDIS_URL": redis,
                "KAFKA_TOPIC_PREFIX": args.topic_prefix,
                "TOKEN_ISSUER": token_issuer,
            }
            client = ensure_client(var, auth_env)
            print(f"dev client {client['client_id']}  (`make token`: an access token)", flush=True)
            demo_ports = demo.default_ports(args.base_port)
            demo.start(stack, var=var, kafka=kafka, topic_prefix=args.topic_prefix,
                       auth_url=token_issuer, admin=client, ports=demo_ports)  # fmt: skip
        yield urls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base-port", type=int, default=int(os.environ.get("CIAM_BASE_PORT", 8001))
    )
    parser.add_argument(
        "--kafka-port", type=int, default=int(os.environ.get("CIAM_KAFKA_PORT", 9092))
    )
    parser.add_argument(
        "--redis-port", type=int, default=int(os.environ.get("CIAM_REDIS_PORT", 6379))
    )
    parser.add_argument("--db-prefix", default="ciam_", help="database names on DATABASE_URL")
    parser.add_argument("--topic-prefix", default=os.environ.get("KAFKA_TOPIC_PREFIX", ""))
    parser.add_argument("--var", default=None, help="state directory (default: ./var)")
    parser.add_argument(
        "--token-issuer",
        default=os.environ.get("TOKEN_ISSUER"),
        metavar="URL",
        help="the issuer whose access tokens the services accept (default: the auth service)",
    )
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        with system(args) as urls:
            print("ready: " + " ".join(f"{s}={u}" for s, u in urls.items()), flush=True)
            print("docs:  " + " ".join(f"{u}/docs" for u in urls.values()), flush=True)
            print(f"mail:  http://127.0.0.1:{mail_ports(args.base_port)[1]}", flush=True)
            print("Ctrl-C stops everything.", flush=True)
            while True:
                signal.pause()
    except Stop as stop:
        print(f"{stop}: stopping", flush=True)
    except DevStackError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    # Leaving `system` stopped every process it started, services first.
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
