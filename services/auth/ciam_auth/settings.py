from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from ciam_shared.settings import BaseServiceSettings


class AuthSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "auth"

    port: int = 8001
