"""Every port of the local runner, chosen in one place from the environment.

| variable                    | default      | what listens                              |
|-----------------------------|--------------|-------------------------------------------|
| CIAM_BASE_PORT              | 8001         | auth; profile, consent, notifier on +1..+3 |
| CIAM_KAFKA_PORT             | 9092         | Kafka (its controller on CIAM_KAFKA_PORT+1) |
| CIAM_KAFKA_CONTROLLER_PORT  | kafka + 1    | Kafka's KRaft controller                  |
| CIAM_REDIS_PORT             | 6379         | Redis                                     |
| CIAM_POSTGRES_PORT          | 5433         | PostgreSQL (5432 is left to a system one) |

A new component of the runner (a mail page, a demo app) adds its field and its variable here,
in `Ports` and `ports_from_env`, and takes its port from `Ports`; nothing else picks a port.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ciam_shared.devstack.errors import DevStackError

SERVICES = ("auth", "profile", "consent", "notifier")  # on base, base+1, base+2, base+3
HOST = "127.0.0.1"

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

    def service(self, name: str) -> int:
        return self.base + SERVICES.index(name)

    def service_url(self, name: str) -> str:
        return f"http://{HOST}:{self.service(name)}"

    def owners(self) -> dict[str, tuple[int, str]]:
        """What listens where, and the variable that moves it (what `require_free` names)."""
        owners = {f"the {s} service": (self.service(s), "CIAM_BASE_PORT") for s in SERVICES}
        return owners | {
            "Kafka": (self.kafka, "CIAM_KAFKA_PORT"),
            "the Kafka controller": (self.kafka_controller, "CIAM_KAFKA_CONTROLLER_PORT"),
            "Redis": (self.redis, "CIAM_REDIS_PORT"),
            "PostgreSQL": (self.postgres, "CIAM_POSTGRES_PORT"),
        }


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
    return Ports(**chosen)
