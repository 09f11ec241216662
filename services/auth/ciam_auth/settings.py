import os
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from ciam_auth.oidc.declaration import ServiceClientConfig, check_declaration, read_file
from ciam_auth.social.config import UpstreamConfig
from ciam_shared.settings import MIN_SECRET_LENGTH, BaseServiceSettings, Environment

MINUTE = 60
DAY = 24 * 60 * MINUTE


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, e.g. under `taskset`), at least one."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class AuthSettings(BaseServiceSettings):
    # hide_input_in_errors: a refused setting must not print the input (the declared service
    # clients' secrets, the key encryption secret) into the start-up error.
    model_config = SettingsConfigDict(
        env_prefix="AUTH_", extra="ignore", frozen=True, hide_input_in_errors=True
    )
    service_name: ClassVar[str] = "auth"
    secret_fields: ClassVar[tuple[str, ...]] = ("key_encryption_secret",)

    port: int = 8001
    # The token endpoint's requests are one or two statements: a checkout ping (three round
    # trips with asyncpg) was a fifth of a refresh's CPU time in the service (bench/README.md).
    database_pre_ping: bool = False
    # The token endpoint under load has more requests in flight than the default 10: beyond
    # the pool each one opened a connection (a fifth of a refresh's CPU time in the service).
    database_pool_size: int = 20
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

    # Machine clients declared by the operator, upserted at every start (a JSON list, see
    # docs/services/auth-oidc.md "Declared service clients"): inline, or in a file (a mounted
    # secret). One or the other.
    service_clients: list[ServiceClientConfig] = Field(default_factory=list)
    service_clients_file: str = ""

    @property
    def issuer_url(self) -> str:
        # No normalisation: verifiers compare `iss` character for character.
        return self.issuer or self.token_issuer or f"http://{self.host}:{self.port}"

    # Where customers reach the service: the base of the links in emails. Empty: the issuer
    # URL (`issuer_url`, which follows TOKEN_ISSUER or the service's own host and port), never
    # a fixed port; the local runner sets it to the auth service it starts.
    public_url: str = ""

    @property
    def public_base_url(self) -> str:
        return (self.public_url or self.issuer_url).rstrip("/")

    # Passwords: argon2id, never below OWASP's m=19 MiB, t=2, p=1 (a validator refuses less).
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    # Hashes run in a pool of this many threads (argon2-cffi releases the GIL), never on the loop.
    # Default: the CPUs this process may run on. More threads than cores only time-slice the
    # same cores, and each thread's 19 MiB of argon2 memory evicts the others' from the cache.
    hash_workers: int = Field(default_factory=usable_cpus, ge=1)
    password_min_length: int = 8
    password_max_length: int = 128

    # Sessions (Redis): ended after this long without a request, and this long after sign-in.
    session_idle_seconds: int = 2 * 3600
    session_absolute_seconds: int = 7 * 24 * 3600
    # A re-authentication through a linked provider (a fresh upstream sign-in) lets a
    # password-less account make sensitive changes for this long (docs/services/auth.md).
    reauth_window_seconds: int = 300
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
    # Set: mails are written as .eml files into this directory instead of going over SMTP (no
    # mail server needed; the local runner sends to its mail sink instead).
    mail_dir: str = ""
    # Durable mail and account jobs (mailer.py, jobs.py): the loops wake right after a commit
    # and poll this often anyway (rows left by a stopped instance or another replica, retries).
    queue_poll_seconds: float = 5.0
    # Off: this instance only queues mail and jobs and another one sends and runs them (tests
    # use it to leave work behind as a crash would).
    queue_workers_enabled: bool = True
    # A failed send is tried again after base * 2^(attempt-1) seconds (jittered, capped), at
    # most `mail_max_attempts` times and never after a day (or after its link expires).
    mail_max_attempts: int = 10
    mail_retry_base_seconds: float = 30.0
    mail_retry_max_seconds: float = 3600.0
    # A sender holds the mails it claimed this long: one that dies is replaced after it.
    mail_lease_seconds: float = 300.0
    job_max_attempts: int = 5
    job_retry_base_seconds: float = 10.0

    # Data rights (datarights/, docs/services/privacy.md). An export waits this long for every
    # service's part; a service that has not answered by then shows as failed, and no archive
    # is made without it. A finished archive is offered this many days, then removed by the
    # sweeper (which looks every `export_sweep_seconds`).
    export_answer_seconds: int = Field(default=600, ge=5)
    export_keep_days: int = Field(default=7, ge=1, le=30)
    export_sweep_seconds: float = 60.0
    # The deadline the operator sees for a deletion request: GDPR art. 12(3) one month (30
    # days, the stricter; set 45 where only the CCPA applies).
    erasure_deadline_days: int = Field(default=30, ge=1, le=90)

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

    # Passkeys (WebAuthn, docs/services/auth.md "Passkeys"). The relying party id is the host
    # the browser sees (a registrable suffix of it); empty: the host of `public_base_url`. An
    # assertion or attestation made for another RP id, or whose clientDataJSON names an origin
    # not in `webauthn_origins` (empty: the origin of `public_base_url`), is refused.
    webauthn_rp_id: str = ""
    webauthn_rp_name: str = "CIAM"
    webauthn_origins: list[str] = Field(default_factory=list)
    # A challenge is single use and lives this long in Redis.
    webauthn_challenge_seconds: int = Field(default=300, ge=10, le=900)
    # "none" (default): no attestation statement is asked for; the AAGUID is kept anyway.
    webauthn_attestation: str = Field(default="none", pattern="^(none|indirect|direct)$")
    # The one-time sign-in code sent by email (and the same code as a link) lives this long.
    email_code_ttl_seconds: int = Field(default=600, ge=60, le=3600)

    @property
    def rp_id(self) -> str:
        return self.webauthn_rp_id or (urlsplit(self.public_base_url).hostname or "localhost")

    @property
    def rp_origins(self) -> list[str]:
        if self.webauthn_origins:
            return [o.rstrip("/") for o in self.webauthn_origins]
        parts = urlsplit(self.public_base_url)
        return [f"{parts.scheme}://{parts.netloc}"]

    @model_validator(mode="before")
    @classmethod
    def _service_clients_from_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("service_clients_file"):
            return data
        if data.get("service_clients"):
            raise ValueError("set service_clients or service_clients_file, not both")
        return data | {"service_clients": read_file(str(data["service_clients_file"]))}

    @model_validator(mode="after")
    def _service_clients_checked(self) -> "AuthSettings":
        check_declaration(self.service_clients)
        if self.environment is Environment.DEVELOPMENT:
            return self
        if weak := [c.client_id for c in self.service_clients if c.weak]:
            raise ValueError(
                f"service clients {', '.join(weak)}: the secret must be a real secret of at "
                f"least {MIN_SECRET_LENGTH} characters outside development "
                f"(environment={self.environment.value})"
            )
        return self

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
