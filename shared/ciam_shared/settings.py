"""Service settings: one env prefix per service, no default secrets."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import SecretStr, field_validator, model_validator
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
}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class BaseServiceSettings(BaseSettings):
    """Settings every service shares. Subclasses set `env_prefix` (e.g. `CONSENT_`).

    Redis and Kafka fall back to the unprefixed REDIS_URL and KAFKA_BOOTSTRAP_SERVERS, and the
    environment to CIAM_ENVIRONMENT, so one environment serves every service. The database never
    falls back: each service owns its own database (`<PREFIX>DATABASE_URL`).
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: ClassVar[str] = "service"
    secret_fields: ClassVar[tuple[str, ...]] = ()

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = ""
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

    @model_validator(mode="before")
    @classmethod
    def _unprefixed_fallbacks(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, variable in _SHARED_VARIABLES.items():
            if name not in data and variable in os.environ:
                data[name] = os.environ[variable]
        return data

    @field_validator("database_url")
    @classmethod
    def _sqlite_by_default(cls, value: str) -> str:
        return value or f"sqlite+aiosqlite:///./var/{cls.service_name}.db"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> BaseServiceSettings:
        if self.environment is Environment.DEVELOPMENT:
            return self
        for name in self.secret_fields:
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            if raw.strip().lower() in PLACEHOLDER_SECRETS or len(raw) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"{name} must be a real secret of at least {MIN_SECRET_LENGTH} characters "
                    f"outside development (environment={self.environment.value})"
                )
        return self
