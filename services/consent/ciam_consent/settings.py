from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from ciam_shared.settings import BaseServiceSettings


class ConsentSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONSENT_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "consent"

    port: int = 8003
