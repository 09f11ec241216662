from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from ciam_shared.settings import BaseServiceSettings


class NotifierSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "notifier"

    port: int = 8004
