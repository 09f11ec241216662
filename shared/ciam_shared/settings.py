"""Service settings: one env prefix per service, no default secrets."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "password", "dev", "test", "xxx"}
)
MIN_SECRET_LENGTH = 32
_SHARED_VARIABLES = {
    "redis_url": "REDIS_URL",
    "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "environment": "CIAM_ENVIRONMENT",
    "topic_prefix": "KAFKA_TOPIC_PREFIX",
    "token_issuer": "TOKEN_ISSUER",
    "token_audience": "TOKEN_AUDIENCE",
    "token_jwks_url": "TOKEN_JWKS_URL",
}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class BaseServiceSettings(BaseSettings):
    """Settings every service shares. Subclasses set `env_prefix` (e.g. `CONSENT_`).

    Redis and Kafka fall back to the unprefixed REDIS_URL and KAFKA_BOOTSTRAP_SERVERS, the
    environment to CIAM_ENVIRONMENT and the access-token settings to TOKEN_ISSUER,
    TOKEN_AUDIENCE and TOKEN_JWKS_URL, so one environment serves every service. The database never
    falls back: each service owns its own database (`<PREFIX>DATABASE_URL`).
    """

    # hide_input_in_errors: a refused setting must not print the raw input, where pydantic
    # would quote every secret of the service (subclasses' configs merge with this one).
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    service_name: ClassVar[str] = "service"
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # A service whose API takes bearer tokens: outside development it needs a token issuer.
    verifies_tokens: ClassVar[bool] = False

    # Production unless told otherwise: only the local runner and the tests choose development
    # or test, so a deployment that forgets CIAM_ENVIRONMENT fails closed (secrets required).
    environment: Environment = Environment.PRODUCTION
    # PostgreSQL (postgresql+asyncpg://...), the only dialect. No default: a service without it
    # refuses to start (`require_database_url`), the local runner sets it.
    database_url: str = ""
    # Test pooled connections on checkout (see ciam_shared.db.create_engine); a service whose
    # requests are a few statements each may turn it off and pay for a restart with the
    # requests in flight instead.
    database_pre_ping: bool = True
    # Connections kept open (ciam_shared.db.create_engine): more concurrent transactions than
    # this open and close a connection each.
    database_pool_size: int = 10
    # Each /readyz check (database, Redis, Kafka) may take this long. A starved process (a
    # machine at load 25) needed more than the former fixed 2 s for a database round trip.
    readiness_timeout_seconds: float = 5.0
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""  # isolates test runs that share one broker
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    create_topics: bool = True
    migrate_on_start: bool = True
    outbox_sweep_seconds: float = 5.0
    # Off: this process stages events but leaves publishing to another (a dedicated relay).
    outbox_relay_enabled: bool = True
    # Bookkeeping kept, then deleted (ciam_shared.retention): sent outbox rows and the ids of
    # processed events, checked every `prune_interval_seconds`.
    outbox_keep_days: float = 7.0
    processed_events_keep_days: float = 30.0
    prune_interval_seconds: float = 3600.0
    # How often the consumer lag and outbox gauges are measured (ciam_shared.observability).
    metrics_refresh_seconds: float = 15.0
    # Access tokens (RFC 9068 JWTs) are verified locally against this issuer's JWKS
    # (`{token_issuer}/.well-known/jwks.json` unless token_jwks_url names another). Empty: no
    # verifier, and every bearer-authenticated endpoint answers 503.
    token_issuer: str = ""
    token_audience: str = "ciam"  # noqa: S105 - an audience name, not a secret
    token_jwks_url: str = ""

    @model_validator(mode="before")
    @classmethod
    def _unprefixed_fallbacks(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, variable in _SHARED_VARIABLES.items():
            if name not in data and variable in os.environ:
                data[name] = os.environ[variable]
        return data

    @property
    def is_development(self) -> bool:
        """Development alone may fall back to development keys (never the default)."""
        return self.environment is Environment.DEVELOPMENT

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable that sets `field` (e.g. AUTH_KEY_ENCRYPTION_SECRET)."""
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    def require_database_url(self) -> str:
        """The database URL, or a start-up error that names the variable to set."""
        variable = self.variable("database_url")
        if not self.database_url:
            raise ValueError(
                f"{variable} is not set: the {self.service_name} service needs its PostgreSQL "
                "database (postgresql+asyncpg://user:password@host:5432/name); `make run` "
                "starts one in var/"
            )
        if not self.database_url.startswith("postgresql"):
            raise ValueError(
                f"{variable} must name a PostgreSQL database (postgresql+asyncpg://...), the "
                f"only dialect the services run on; got a {self.database_url.split(':')[0]} URL"
            )
        return self.database_url

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> BaseServiceSettings:
        if self.environment is Environment.DEVELOPMENT:
            return self
        if self.verifies_tokens and not self.token_issuer:
            raise ValueError(
                "token_issuer (TOKEN_ISSUER) must name the auth service outside development "
                f"(environment={self.environment.value})"
            )
        for name in self.secret_fields:
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            if raw.strip().lower() in PLACEHOLDER_SECRETS or len(raw) < MIN_SECRET_LENGTH:
                state = "is not set" if not raw.strip() else "is a placeholder or too short"
                raise ValueError(
                    f"{self.variable(name)} ({name}) {state}: it must be a real secret of at "
                    f"least {MIN_SECRET_LENGTH} characters outside development "
                    f"(environment={self.environment.value}; only the local runner and the "
                    "tests choose CIAM_ENVIRONMENT=development)"
                )
        return self
