from typing import ClassVar

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from ciam_shared.settings import BaseServiceSettings, Environment


class DemoSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "demo"
    secret_fields: ClassVar[tuple[str, ...]] = ("signing_key",)

    signing_key: SecretStr


def test_a_secret_has_no_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_SIGNING_KEY", raising=False)
    with pytest.raises(ValidationError, match="signing_key"):
        DemoSettings()


@pytest.mark.parametrize("value", ["changeme", "secret", "short-but-not-placeholder"])
def test_placeholder_secrets_are_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DEMO_SIGNING_KEY", value)
    monkeypatch.setenv("DEMO_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="real secret") as refused:
        DemoSettings()
    assert f"'{value}'" not in str(refused.value)  # the error never quotes the secret


def test_placeholder_secrets_are_allowed_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_SIGNING_KEY", "changeme")
    monkeypatch.setenv("DEMO_ENVIRONMENT", "development")
    assert DemoSettings().environment is Environment.DEVELOPMENT


def test_settings_read_their_prefix_and_the_shared_infrastructure_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMO_SIGNING_KEY", "k" * 40)
    monkeypatch.setenv("DEMO_PORT", "9999")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("DEMO_REDIS_URL", "redis://own:6379/2")
    monkeypatch.setenv("CIAM_ENVIRONMENT", "production")
    settings = DemoSettings()
    assert settings.port == 9999
    assert settings.kafka_bootstrap_servers == "broker:9092"
    assert settings.redis_url == "redis://own:6379/2"  # the prefixed name wins
    assert settings.environment is Environment.PRODUCTION
    assert settings.database_url == ""  # no default database: see require_database_url
    assert "k" * 40 not in repr(settings)  # secrets never print


class ApiSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "api"
    verifies_tokens: ClassVar[bool] = True


def test_a_service_that_verifies_tokens_needs_an_issuer_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TOKEN_ISSUER", raising=False)
    monkeypatch.setenv("CIAM_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="token_issuer"):
        ApiSettings()
    monkeypatch.setenv("TOKEN_ISSUER", "https://auth.example")
    monkeypatch.setenv("API_TOKEN_AUDIENCE", "consent")
    settings = ApiSettings()
    assert (settings.token_issuer, settings.token_audience) == ("https://auth.example", "consent")
    assert settings.token_jwks_url == ""


def test_the_environment_defaults_to_production_where_secrets_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CIAM_ENVIRONMENT", raising=False)
    monkeypatch.delenv("DEMO_ENVIRONMENT", raising=False)
    monkeypatch.setenv("DEMO_SIGNING_KEY", "")
    with pytest.raises(ValidationError, match=r"DEMO_SIGNING_KEY .* is not set") as refused:
        DemoSettings()
    assert "environment=production" in str(refused.value)


def test_a_service_without_a_database_url_is_told_which_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEMO_DATABASE_URL", raising=False)
    settings = DemoSettings(environment="development", signing_key="k")
    with pytest.raises(ValueError, match="DEMO_DATABASE_URL is not set"):
        settings.require_database_url()
    sqlite = DemoSettings(
        environment="development", signing_key="k", database_url="sqlite+aiosqlite:///x.db"
    )
    with pytest.raises(ValueError, match="must name a PostgreSQL database"):
        sqlite.require_database_url()
    url = "postgresql+asyncpg://u@127.0.0.1:5432/demo"
    postgres = DemoSettings(environment="development", signing_key="k", database_url=url)
    assert postgres.require_database_url() == url
