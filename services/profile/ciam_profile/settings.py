from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from ciam_shared.settings import BaseServiceSettings


class ProfileSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROFILE_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "profile"

    port: int = 8002
