from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from ciam_shared.settings import BaseServiceSettings


class ConsentSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONSENT_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "consent"
    secret_fields: ClassVar[tuple[str, ...]] = ("receipt_signing_key",)
    verifies_tokens: ClassVar[bool] = True

    port: int = 8003
    # A change is three statements: a checkout ping (three more round trips with asyncpg:
    # BEGIN, an empty statement, ROLLBACK) cost as much as one of them. A connection the
    # server dropped fails one request, then SQLAlchemy replaces the pool (as for auth).
    database_pre_ping: bool = False
    # Under load more changes are in flight than the default 10: beyond the pool each one
    # opened and closed a connection of its own (bench/README.md, bench-consent).
    database_pool_size: int = 20
    # PEM of the P-256 key that signs consent receipts (ES256). Development: empty means an
    # ephemeral key per start; elsewhere it is required.
    receipt_signing_key: SecretStr = SecretStr("")
    controller_name: str = "CIAM demo brand"
    controller_contact: str = "privacy@example.com"
    policy_url: str = "https://example.com/privacy"
    jurisdiction: str = "EU"
    expiry_sweep_seconds: float = 30.0
    seed_catalogue: bool = True
