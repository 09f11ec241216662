"""The local runner: infrastructure plus the four services as separate processes.

    python -m ciam_devtools.devstack.run        (what `make run` calls)

Everything it keeps lives in var/ and survives a restart (`make clean` starts afresh):
PostgreSQL's cluster (var/postgres, one database per service), Redis's append-only file
(var/redis), Kafka's storage (var/kafka), the generated secrets (var/secrets), the clients'
credentials (var/*-client.json), logs (var/logs) and mails (var/mail).

Kafka, Redis and PostgreSQL are started here unless KAFKA_BOOTSTRAP_SERVERS, REDIS_URL or
DATABASE_URL (an admin URL of a PostgreSQL server: each service gets its own database there)
name running ones. CIAM_REPLICAS=N starts N processes of every service (replica r on the
service's port + 100 r, on the same databases, Redis and topics). Ports come from
`ciam_devtools.devstack.ports` (CIAM_BASE_PORT, ...), time-outs
from CIAM_READY_TIMEOUT. The services run in development (CIAM_ENVIRONMENT) with the secrets of
var/secrets, and verify bearer tokens against the auth service started here (TOKEN_ISSUER = its
URL) unless --token-issuer names another issuer; then the profile and notifier get their own
clients for its internal API (var/<service>-client.json, scope auth:contacts), which the auth
service declares (AUTH_SERVICE_CLIENTS) and upserts as it starts.

The services are launched while Kafka still starts (`ciam_devtools.devstack.serve` imports their
code, then waits for the broker). Each set-up step prints one line; once every /readyz answers
it prints the pages, the API
documents and the brokers (`Link`s, grouped), and on Ctrl-C or SIGTERM stops everything it
started. Another component (a mail sink, a demo app) is a `start_*` function called from
`system()` at the place its comment marks, which may add environment for the services
(`Stack.service_env`) and lines to the summary (`Stack.links`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ciam_devtools.devstack import demo
from ciam_devtools.devstack.console import ensure_client, service_clients
from ciam_devtools.devstack.errors import DevStackError
from ciam_devtools.devstack.kafka import launch_kafka, wait_for_kafka
from ciam_devtools.devstack.kafka_cluster import BROKERS_VARIABLE, KafkaCluster, brokers_from_env
from ciam_devtools.devstack.keys import runner_secrets
from ciam_devtools.devstack.mailsink import mail_env, start_mail_sink
from ciam_devtools.devstack.ports import HOST, SERVICES, Ports, ports_from_env
from ciam_devtools.devstack.postgres import (
    check_kept_cluster,
    create_databases,
    start_kept_cluster,
)
from ciam_devtools.devstack.probes import readyz
from ciam_devtools.devstack.process import ManagedProcess, repo_root, require_free
from ciam_devtools.devstack.redis import start_redis


class Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def say(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class Link:
    """One line of the summary printed when everything is ready."""

    group: str
    label: str
    url: str


@dataclass
class Stack:
    args: argparse.Namespace
    ports: Ports
    var: Path
    exits: ExitStack
    started: float = field(default_factory=time.monotonic)
    kafka: str = ""
    redis: str = ""
    database_admin: str = ""
    databases: dict[str, str] = field(default_factory=dict)
    # Environment of every service, then each service's own (a component started before the
    # services adds to them here, e.g. AUTH_SMTP_HOST for a mail sink).
    env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(
        default_factory=lambda: {s: {} for s in SERVICES}
    )
    procs: dict[str, ManagedProcess] = field(default_factory=dict)
    launched: dict[str, float] = field(default_factory=dict)  # monotonic start of each process
    dependencies_ready: float = 0.0  # when PostgreSQL, Redis and Kafka were all ready
    urls: dict[str, str] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    dev_client: dict[str, str] = field(default_factory=dict)

    def keep(self, proc: ManagedProcess) -> ManagedProcess:
        """Stop `proc` when the runner stops (in reverse order of starting)."""
        self.exits.callback(proc.stop)
        return proc


def check_ports(s: Stack) -> None:
    """Every port this run will bind, checked before anything starts."""
    external = {
        "Kafka": "KAFKA_BOOTSTRAP_SERVERS",
        "the Kafka controller": "KAFKA_BOOTSTRAP_SERVERS",
        "Redis": "REDIS_URL",
        "PostgreSQL": "DATABASE_URL",
    }
    options = {
        "CIAM_BASE_PORT": "--base-port",
        "CIAM_KAFKA_PORT": "--kafka-port",
        "CIAM_REDIS_PORT": "--redis-port",
        "CIAM_POSTGRES_PORT": "--postgres-port",
    }
    for what, (port, variable) in s.ports.owners().items():
        if not os.environ.get(external.get(what, "")):  # not started here: not bound here
            require_free(port, what, variable, options.get(variable))


def start_kafka_in_background(s: Stack, pool: ThreadPoolExecutor) -> Future[str]:
    """Kafka takes longest: it is waited for in a thread while the rest starts."""
    if s.args.kafka_brokers > 1:
        return start_kafka_cluster_in_background(s, pool)
    began = time.monotonic()
    # Launched here, in the main thread: a child dies with the thread that started it.
    proc, s.kafka = launch_kafka(s.var / "kafka", s.ports.kafka, s.ports.kafka_controller, say=say)
    s.keep(proc)

    def wait() -> str:
        wait_for_kafka(proc, s.kafka)
        say(f"kafka: ready on {s.kafka} ({time.monotonic() - began:.1f} s)")
        return s.kafka

    return pool.submit(wait)


def start_kafka_cluster_in_background(s: Stack, pool: ThreadPoolExecutor) -> Future[str]:
    """`--kafka-brokers 3`: three combined nodes (ciam_devtools.devstack.kafka_cluster), their
    storage in var/kafka-cluster; ready once all three are registered brokers."""
    began = time.monotonic()
    cluster = KafkaCluster(
        s.var / "kafka-cluster", size=s.args.kafka_brokers,
        port=s.ports.kafka, controller_port=s.ports.kafka_controller,
    )  # fmt: skip
    s.exits.callback(cluster.stop)
    cluster.launch(say=say)  # in the main thread: a child dies with the thread that started it
    s.kafka = cluster.bootstrap

    def wait() -> str:
        cluster.wait()
        say(f"kafka: {len(cluster.nodes)} brokers ready on {s.kafka} "
            f"({time.monotonic() - began:.1f} s)")  # fmt: skip
        return s.kafka

    return pool.submit(wait)


def start_postgres(s: Stack) -> None:
    names = {service: f"{s.args.db_prefix}{service}" for service in SERVICES}
    if admin := os.environ.get("DATABASE_URL"):
        say(f"postgres: using DATABASE_URL's server ({admin.split('@')[-1]})")
    else:
        began = time.monotonic()
        proc, admin = start_kept_cluster(s.var / "postgres", s.ports.postgres, say=say)
        s.keep(proc)
        say(f"postgres: ready on {HOST}:{s.ports.postgres} ({time.monotonic() - began:.1f} s)")
    created = create_databases(admin, names.values())
    if created:
        say(f"postgres: created databases {', '.join(created)}")
    base = admin.rpartition("/")[0]
    s.database_admin = admin
    s.databases = {service: f"{base}/{name}" for service, name in names.items()}


def start_redis_kept(s: Stack) -> None:
    if url := os.environ.get("REDIS_URL"):
        s.redis = url
        say(f"redis: using REDIS_URL ({url})")
        return
    began = time.monotonic()
    proc, s.redis = start_redis(s.var / "redis", s.ports.redis, kept=True)
    s.keep(proc)
    say(f"redis: ready on {HOST}:{s.ports.redis}, append-only file in {s.var / 'redis'} "
        f"({time.monotonic() - began:.1f} s)")  # fmt: skip


def start_infrastructure(s: Stack, pool: ThreadPoolExecutor) -> Future[str] | None:
    """PostgreSQL and Redis ready, Kafka launched: the future of its readiness (None: an
    external broker, ready already)."""
    external_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not os.environ.get("DATABASE_URL"):
        check_kept_cluster(s.var / "postgres")  # fails now, not after Kafka's start
    kafka = None if external_kafka else start_kafka_in_background(s, pool)
    start_postgres(s)
    start_redis_kept(s)
    if kafka is None:
        s.kafka = str(external_kafka)
        say(f"kafka: using KAFKA_BOOTSTRAP_SERVERS ({s.kafka})")
    return kafka


def prepare_service_env(s: Stack) -> None:
    """What every service is told: the brokers, development with the runner's secrets, the
    issuer of the tokens, the public URL of auth's pages and links."""
    auth_url = s.ports.service_url("auth")
    s.env |= {
        "KAFKA_BOOTSTRAP_SERVERS": s.kafka,
        "REDIS_URL": s.redis,
        "KAFKA_TOPIC_PREFIX": s.args.topic_prefix,
        # Only the runner (and the tests) choose development; a value in the environment wins.
        "CIAM_ENVIRONMENT": os.environ.get("CIAM_ENVIRONMENT", "development"),
        "TOKEN_ISSUER": s.args.token_issuer or auth_url,
    } | runner_secrets(s.var, say=say)
    for service in SERVICES:
        prefix = service.upper()
        s.service_env[service] |= {
            f"{prefix}_DATABASE_URL": s.databases[service],
            f"{prefix}_PORT": str(s.ports.service(service)),
        }
    auth = s.service_env["auth"]
    auth.setdefault("AUTH_PUBLIC_URL", os.environ.get("AUTH_PUBLIC_URL", auth_url))
    auth.setdefault("AUTH_CONSENT_URL", s.ports.service_url("consent"))
    if not s.args.token_issuer:  # the auth service started here issues the tokens
        for service, extra in service_clients(s.var).items():
            s.service_env[service] |= extra


def environment_of(s: Stack, service: str) -> dict[str, str]:
    return dict(os.environ) | s.env | s.service_env[service]


def instance_name(service: str, replica: int) -> str:
    """`consent` for the first process of a service, `consent-2`, `consent-3`, ... for the
    other replicas (CIAM_REPLICAS): their names in the log files and the summary."""
    return service if replica == 0 else f"{service}-{replica + 1}"


def start_service(s: Stack, service: str, replica: int = 0) -> None:
    """Launch one process of the service: it imports its code now and starts serving once
    Kafka is ready (`ciam_devtools.devstack.serve`), so the imports overlap Kafka's start.
    Replicas share everything but their port: the databases, Redis, the topics and the
    consumer groups (docs/operations.md, "Running replicas")."""
    name = instance_name(service, replica)
    port = s.ports.service(service, replica)
    log = s.var / "logs" / f"{name}.log"
    say(f"{name}: starting on {HOST}:{port} (log {log}) ...")
    env = environment_of(s, service) | {f"{service.upper()}_PORT": str(port)}
    s.procs[name] = s.keep(
        ManagedProcess(
            name,
            [sys.executable, "-m", "ciam_devtools.devstack.serve", service,
             "--host", HOST, "--port", str(port), "--kafka", s.kafka],
            log_path=log,
            env=env,
            cwd=s.var,
        ).start()
    )  # fmt: skip
    s.launched[name] = time.monotonic()
    s.urls[name] = s.ports.service_url(service, replica)


def wait_for_service(s: Stack, name: str) -> None:
    url = s.urls[name]
    s.procs[name].wait_until(
        lambda: readyz(url), what=f"{url}/readyz (its database, Kafka and Redis)"
    )
    # From when both it and its dependencies were up: its own start-up time.
    took = time.monotonic() - max(s.launched[name], s.dependencies_ready)
    say(f"{name}: ready {url} (pid {s.procs[name].pid}, {took:.1f} s)")


def start_services(s: Stack, kafka: Future[str] | None) -> None:
    instances = [(service, r) for r in range(s.ports.replicas) for service in SERVICES]
    for service, replica in instances:  # all at once: they start in parallel
        start_service(s, service, replica)
    if kafka is not None:
        kafka.result()
    s.dependencies_ready = time.monotonic()
    for service, replica in instances:
        wait_for_service(s, instance_name(service, replica))
    if not s.args.token_issuer:
        s.dev_client = ensure_client(s.var, environment_of(s, "auth"))
        say(f"dev client: {s.dev_client['client_id']} (`make token` prints an access token)")


def core_links(s: Stack) -> list[Link]:
    auth = s.urls["auth"]
    links = [
        Link("Customer pages", "sign up", f"{auth}/register"),
        Link("Customer pages", "sign in", f"{auth}/login"),
        Link("Customer pages", "account", f"{auth}/account"),
        Link("Customer pages", "privacy", f"{auth}/privacy"),
        Link("Customer pages", "download my data", f"{auth}/privacy/export"),
        Link("Customer pages", "password reset", f"{auth}/reset-password"),
    ]
    links += [Link("API documents", name, f"{url}/docs") for name, url in s.urls.items()]
    postgres = s.database_admin.replace("postgresql+asyncpg://", "postgresql://")
    links += [
        Link("Brokers", "Kafka", s.kafka),
        Link("Brokers", "Redis", s.redis),
        Link("Brokers", "PostgreSQL", f"{postgres.rpartition('/')[0]}/{s.args.db_prefix}*"),
    ]
    return links


def print_summary(s: Stack) -> None:
    took = time.monotonic() - s.started
    say("ready: " + " ".join(f"{name}={url}" for name, url in s.urls.items()) + f" ({took:.1f} s)")
    groups: dict[str, list[Link]] = {}
    for link in s.links:
        groups.setdefault(link.group, []).append(link)
    width = max((len(link.label) for link in s.links), default=0)
    for group, links in groups.items():
        say(f"\n{group}")
        for link in links:
            say(f"  {link.label:<{width}}  {link.url}")
    say(f"\nCtrl-C stops everything; the state stays in {s.var} (`make clean` starts afresh).")


def start_mail(s: Stack) -> None:
    """The mail sink (ciam_devtools.devstack.mailsink): auth and the notifier send to it unless
    the environment names their own server; its page lists what they sent."""
    smtp, web = s.ports.mail_smtp, s.ports.mail_web
    proc, url = start_mail_sink(s.var, smtp, web)
    s.keep(proc)
    say(f"mail: ready {url} (SMTP port {smtp}, files in {s.var / 'mail'})")
    for service in SERVICES:
        s.service_env[service] |= mail_env(service, smtp)
    s.links.append(Link("Mail", "mail page", url))


def start_demo(s: Stack) -> None:
    """The demo brand (ciam_devtools.devstack.demo): two brand apps on the SDK; CIAM_DEMO=0
    leaves it out, as does a token issuer other than the auth service started here."""
    if not s.dev_client:
        return
    urls = demo.start(
        s.exits, var=s.var, kafka=s.kafka, topic_prefix=s.args.topic_prefix,
        auth_url=s.urls["auth"], admin=s.dev_client, ports=dict(s.ports.demo),
    )  # fmt: skip
    s.links += [Link("Demo brand", key, url) for key, url in urls.items()]


@contextmanager
def system(args: argparse.Namespace) -> Iterator[Stack]:
    var = Path(args.var).resolve() if args.var else repo_root() / "var"
    ports = ports_from_env(base=args.base_port, kafka=args.kafka_port, redis=args.redis_port,
                           postgres=args.postgres_port)  # fmt: skip
    with ExitStack() as exits:
        s = Stack(args, ports, var, exits)
        check_ports(s)
        var.mkdir(parents=True, exist_ok=True)
        say(f"state: {var} (kept between runs)")
        pool = ThreadPoolExecutor(max_workers=1)
        # On a failure the stack stops Kafka, which ends the thread's wait: not waited for.
        exits.callback(pool.shutdown, wait=False, cancel_futures=True)
        kafka = start_infrastructure(s, pool)
        prepare_service_env(s)
        # <- a component the services send to starts here, adding to s.env or s.service_env
        #    and to s.links.
        start_mail(s)
        start_services(s, kafka)
        s.links[:0] = core_links(s)
        # <- a component that calls the services starts here, adding to s.links.
        start_demo(s)
        s.links.append(Link("State", "logs", str(var / "logs")))
        yield s


def _brokers(value: str) -> int:
    try:
        return brokers_from_env(value)
    except DevStackError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Ports default to the environment (ciam_devtools.devstack.ports); an option wins.
    parser.add_argument("--base-port", type=int, default=None, help="CIAM_BASE_PORT")
    parser.add_argument("--kafka-port", type=int, default=None, help="CIAM_KAFKA_PORT")
    parser.add_argument("--redis-port", type=int, default=None, help="CIAM_REDIS_PORT")
    parser.add_argument("--postgres-port", type=int, default=None, help="CIAM_POSTGRES_PORT")
    parser.add_argument(
        "--kafka-brokers", type=_brokers, default=os.environ.get(BROKERS_VARIABLE, "1"),
        metavar="1|3", help="CIAM_KAFKA_BROKERS: one Kafka broker (default) or a cluster of three",
    )  # fmt: skip
    parser.add_argument("--db-prefix", default="ciam_", help="database names (ciam_auth, ...)")
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
        with system(args) as running:
            print_summary(running)
            while True:
                signal.pause()
    except Stop as stop:
        say(f"{stop}: stopping")
    except DevStackError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    # Leaving `system` stopped every process it started, services first.
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
