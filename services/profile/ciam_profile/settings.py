from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from ciam_shared.settings import BaseServiceSettings


class ProfileSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROFILE_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "profile"
    verifies_tokens: ClassVar[bool] = True

    port: int = 8002
    # The purpose whose consent allows storing tracked behavioural events.
    tracking_purpose: str = "analytics"
    # Assembled profiles in Redis: invalidated on every change; the TTL only bounds a race
    # between a read that assembles and a write that commits at the same moment.
    cache_ttl_seconds: int = 300
    max_body_bytes: int = 256 * 1024
    # The name under which the consent view acknowledges what it applied (propagation proof).
    consent_subscriber: str = "profile"
    # The social import (docs/services/profile.md): values are asked of the auth service
    # (`auth_url`, default the token issuer) with this client's credentials (client
    # credentials grant, scope auth:contacts). No client id or secret: the import is off
    # (logged once at start); removals on a withdrawal still apply.
    auth_url: str = ""
    auth_client_id: str = ""
    auth_client_secret: SecretStr = SecretStr("")
    auth_timeout_seconds: float = 3.0

    @property
    def social_import_enabled(self) -> bool:
        return bool(self.auth_client_id and self.auth_client_secret.get_secret_value())
