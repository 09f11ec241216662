from typing import ClassVar

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from ciam_shared.settings import BaseServiceSettings, Environment


class AuthSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "auth"

    port: int = 8001
    # Where customers reach the service: the base of the links in emails.
    public_url: str = "http://127.0.0.1:8001"

    # Passwords: argon2id, never below OWASP's m=19 MiB, t=2, p=1 (a validator refuses less).
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    # Hashes run in a pool of this many threads (argon2-cffi releases the GIL), never on the loop.
    hash_workers: int = 2
    password_min_length: int = 8
    password_max_length: int = 128

    # Sessions (Redis): ended after this long without a request, and this long after sign-in.
    session_idle_seconds: int = 2 * 3600
    session_absolute_seconds: int = 7 * 24 * 3600
    # The second sign-in step (TOTP) must follow the password within this time.
    mfa_step_seconds: int = 300

    # Email verification and password reset: a link and a 6-digit code, valid this long, burnt
    # after `code_attempts` wrong codes.
    verification_ttl_seconds: int = 24 * 3600
    reset_ttl_seconds: int = 3600
    code_attempts: int = 5
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    mail_from: str = "no-reply@example.com"
    # Set: mails are written as .eml files into this directory instead of going over SMTP (the
    # local runner does this unless AUTH_SMTP_HOST/PORT are set: no mail server needed).
    mail_dir: str = ""

    # Throttling (see docs/services/auth.md): per (account, client) a delay doubling (from
    # `throttle_base_delay`) from
    # `throttle_pair_free` failures up to `throttle_pair_max_delay`; per account a softer delay
    # from `throttle_account_free` failures, capped at `throttle_account_max_delay` so the real
    # customer always gets through; per client address at most `throttle_client_limit`
    # attempts in `throttle_window_seconds`.
    throttle_window_seconds: int = 3600
    throttle_base_delay: float = 1.0
    throttle_pair_free: int = 5
    throttle_pair_max_delay: float = 900.0
    throttle_account_free: int = 20
    throttle_account_max_delay: float = 30.0
    throttle_client_limit: int = 300
    # Registrations, and reset requests, per client address and window.
    throttle_requests_per_client: int = 30

    totp_issuer: str = "CIAM"

    @model_validator(mode="after")
    def _owasp_minimum(self) -> "AuthSettings":
        if self.argon2_memory_kib < 19 * 1024 or self.argon2_time_cost < 2:
            raise ValueError("argon2id below the OWASP minimum (m=19 MiB, t=2, p=1)")
        if self.password_min_length < 8 or self.password_max_length < 64:
            raise ValueError("passwords must be allowed from 8 to at least 64 characters")
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.environment is not Environment.DEVELOPMENT
