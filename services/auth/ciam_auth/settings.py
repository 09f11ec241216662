from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ciam_auth.social.config import UpstreamConfig
from ciam_shared.settings import BaseServiceSettings

MINUTE = 60
DAY = 24 * 60 * MINUTE


class AuthSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "auth"
    secret_fields: ClassVar[tuple[str, ...]] = ("key_encryption_secret",)

    port: int = 8001
    # The issuer URL brand apps and the other services see. Empty: TOKEN_ISSUER (which the
    # other services verify against), else http://<host>:<port>.
    issuer: str = ""
    # Encrypts the private signing keys at rest (AES-GCM). Development: empty means a fixed
    # development key (and a warning); elsewhere a real secret is required.
    key_encryption_secret: SecretStr = SecretStr("")
    access_token_ttl_s: int = 5 * MINUTE
    id_token_ttl_s: int = 5 * MINUTE
    refresh_token_ttl_s: int = 30 * DAY
    authorization_code_ttl_s: int = 60
    # A retired signing key stays in the JWKS this long, so tokens it signed still verify.
    key_overlap_s: int = DAY
    # Reloads signing keys and clients from the database (other replicas may rotate them).
    cache_refresh_s: float = 30.0
    # How long the token endpoint trusts a client it read; a change on another replica (a
    # deleted app, a rotated secret) takes effect here within this time.
    client_cache_s: float = 5.0

    # Social sign-in: upstream providers (a JSON list, see docs/services/auth-social.md), how
    # long to wait for one, and the consent service that records `social-import` choices.
    social_providers: list[UpstreamConfig] = Field(default_factory=list)
    social_timeout_s: float = 5.0
    consent_url: str = ""

    @property
    def issuer_url(self) -> str:
        # No normalisation: verifiers compare `iss` character for character.
        return self.issuer or self.token_issuer or f"http://{self.host}:{self.port}"
