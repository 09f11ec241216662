from typing import ClassVar

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
