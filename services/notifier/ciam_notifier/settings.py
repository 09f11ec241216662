from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from ciam_shared.settings import BaseServiceSettings


class NotifierSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "notifier"
    verifies_tokens: ClassVar[bool] = True

    port: int = 8004
    # Webhook targets in private, loopback or link-local ranges are refused unless listed here
    # (CIDRs, e.g. "127.0.0.0/8"): SSRF protection. Tests allow loopback.
    webhook_allowlist: list[str] = []
    retry_period_seconds: float = 24 * 3600
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 3600.0
    delivery_timeout_seconds: float = 5.0
    delivery_poll_seconds: float = 1.0
    delivery_concurrency: int = 32
    # Marketing channels. A message waits `settle_seconds` before it may go out, so a consent
    # change committed just before the request has reached the notifier's consent view.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    mail_from: str = "no-reply@example.com"
    sms_gateway_url: str = ""
    settle_seconds: float = 2.0
    message_poll_seconds: float = 0.5
    stream_retention_seconds: float = 7 * 24 * 3600
