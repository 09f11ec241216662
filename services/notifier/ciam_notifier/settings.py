from typing import ClassVar

from pydantic import SecretStr
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
    # A claim older than this belongs to a stopped worker and is recovered (see
    # ciam_notifier.service.sending): longer than the slowest send (SMTP timeout 10 s).
    claim_lease_seconds: float = 60.0
    # Confirmation emails of consent changes: the address is asked of the auth service
    # (`auth_url`, default the token issuer) with this client's credentials (client
    # credentials grant, scope auth:contacts). No client id: no confirmations.
    auth_url: str = ""
    auth_client_id: str = ""
    auth_client_secret: SecretStr = SecretStr("")
    auth_timeout_seconds: float = 3.0
    confirmation_retry_period_seconds: float = 24 * 3600
    # Off: a confirmation goes only to an address the customer proved is theirs (see
    # docs/services/notifier.md).
    confirm_unverified: bool = False

    @property
    def confirmations_enabled(self) -> bool:
        return bool(self.auth_client_id and self.auth_client_secret.get_secret_value())
