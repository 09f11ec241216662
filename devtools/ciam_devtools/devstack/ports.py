"""Every port of the local runner, chosen in one place from the environment.

| variable                    | default      | what listens                              |
|-----------------------------|--------------|-------------------------------------------|
| CIAM_BASE_PORT              | 8001         | auth; profile, consent, notifier on +1..+3 |
| CIAM_KAFKA_PORT             | 9092         | Kafka (its controller on CIAM_KAFKA_PORT+1) |
| CIAM_KAFKA_CONTROLLER_PORT  | kafka + 1    | Kafka's KRaft controller                  |
| CIAM_REDIS_PORT             | 6379         | Redis                                     |
| CIAM_POSTGRES_PORT          | 5433         | PostgreSQL (5432 is left to a system one) |
| CIAM_MAIL_PORT              | base + 24    | the mail sink's SMTP (mailsink.ports)     |
| CIAM_MAIL_WEB_PORT          | base + 25    | the mail page (mailsink.ports)            |
| (none)                      | base + 10, 11 | the demo brand's shop and newsletter (demo) |
| CIAM_REPLICAS               | 1            | processes per service (replica r: port + 100 r) |

A new component of the runner adds its field here, in `Ports` and `ports_from_env` (its own
module may keep the offsets, as the mail sink and the demo do), and takes its port from
`Ports`; the runner checks every port in `owners()` before it starts anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ciam_devtools.devstack.errors import DevStackError

SERVICES = ("auth", "profile", "consent", "notifier")  # on base, base+1, base+2, base+3
HOST = "127.0.0.1"
REPLICA_PORT_STEP = 100  # replica r of a service listens on its port + 100 r
MAX_REPLICAS = 9

DEFAULTS = {
    "CIAM_BASE_PORT": 8001,
    "CIAM_KAFKA_PORT": 9092,
    "CIAM_REDIS_PORT": 6379,
    "CIAM_POSTGRES_PORT": 5433,
}


@dataclass(frozen=True)
class Ports:
    base: int
    kafka: int
    kafka_controller: int
    redis: int
    postgres: int
    mail_smtp: int
    mail_web: int
    demo: tuple[tuple[str, int], ...]  # (app key, port)
    replicas: int = 1  # processes per service (CIAM_REPLICAS)

    def service(self, name: str, replica: int = 0) -> int:
        return self.base + SERVICES.index(name) + REPLICA_PORT_STEP * replica

    def service_url(self, name: str, replica: int = 0) -> str:
        return f"http://{HOST}:{self.service(name, replica)}"

    def owners(self) -> dict[str, tuple[int, str]]:
        """What listens where, and the variable that moves it (what `require_free` names)."""
        owners = {f"the {s} service": (self.service(s), "CIAM_BASE_PORT") for s in SERVICES}
        owners |= {
            f"replica {r + 1} of the {s} service": (self.service(s, r), "CIAM_BASE_PORT")
            for s in SERVICES
            for r in range(1, self.replicas)
        }
        return (
            owners
            | {
                "Kafka": (self.kafka, "CIAM_KAFKA_PORT"),
                "the Kafka controller": (self.kafka_controller, "CIAM_KAFKA_CONTROLLER_PORT"),
                "Redis": (self.redis, "CIAM_REDIS_PORT"),
                "PostgreSQL": (self.postgres, "CIAM_POSTGRES_PORT"),
                "the mail sink (SMTP)": (self.mail_smtp, "CIAM_MAIL_PORT"),
                "the mail page": (self.mail_web, "CIAM_MAIL_WEB_PORT"),
            }
            | {f"the demo {key}": (port, "CIAM_BASE_PORT") for key, port in self.demo}
        )


def _port(environ: Mapping[str, str], variable: str, default: int) -> int:
    raw = environ.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise DevStackError(f"{variable}={raw!r} is not a port number (1-65535)")
    return int(raw)


def ports_from_env(environ: Mapping[str, str] | None = None, **overrides: int | None) -> Ports:
    """The ports from the environment; `overrides` (command-line options) win when not None."""
    env = os.environ if environ is None else environ
    kafka = overrides.get("kafka") or _port(env, "CIAM_KAFKA_PORT", DEFAULTS["CIAM_KAFKA_PORT"])
    chosen = {
        "base": overrides.get("base") or _port(env, "CIAM_BASE_PORT", DEFAULTS["CIAM_BASE_PORT"]),
        "kafka": kafka,
        "kafka_controller": overrides.get("kafka_controller")
        or _port(env, "CIAM_KAFKA_CONTROLLER_PORT", kafka + 1),
        "redis": overrides.get("redis")
        or _port(env, "CIAM_REDIS_PORT", DEFAULTS["CIAM_REDIS_PORT"]),
        "postgres": overrides.get("postgres")
        or _port(env, "CIAM_POSTGRES_PORT", DEFAULTS["CIAM_POSTGRES_PORT"]),
    }
    from ciam_devtools.devstack import demo
    from ciam_devtools.devstack.mailsink.ports import mail_ports

    mail_smtp, mail_web = mail_ports(chosen["base"])
    demos = tuple(demo.default_ports(chosen["base"]).items()) if demo.enabled() else ()
    return Ports(
        **chosen,
        mail_smtp=mail_smtp,
        mail_web=mail_web,
        demo=demos,
        replicas=overrides.get("replicas") or replicas_from_env(env),
    )


def replicas_from_env(environ: Mapping[str, str]) -> int:
    """CIAM_REPLICAS: how many processes of each service the runner starts (1 by default)."""
    raw = environ.get("CIAM_REPLICAS", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPLICAS:
        raise DevStackError(f"CIAM_REPLICAS={raw!r} is not a number of replicas (1-{MAX_REPLICAS})")
    return int(raw)
