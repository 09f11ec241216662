"""The secrets of the local runner, generated once into var/secrets/ (mode 0600) and reused.

The runner runs the services in development, but still gives them real secrets: the auth
service's key encryption secret (sealed signing keys and TOTP secrets must still open after a
restart) and the consent service's receipt signing key (a receipt issued yesterday must still
verify today). A variable set in the environment wins over the file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey


def _kek() -> str:
    return secrets.token_urlsafe(48)


def _p256_pem() -> str:
    return ECKey.generate_key("P-256").as_pem(private=True).decode()


@dataclass(frozen=True)
class Secret:
    variable: str
    file: str
    make: Callable[[], str]


SECRETS = (
    Secret("AUTH_KEY_ENCRYPTION_SECRET", "auth-key-encryption-secret", _kek),
    Secret("CONSENT_RECEIPT_SIGNING_KEY", "consent-receipt-signing-key.pem", _p256_pem),
)


def runner_secrets(var: Path, say: Callable[[str], None] = print) -> dict[str, str]:
    """Each secret's variable and value: from the environment, else var/secrets/<file>
    (written now if missing)."""
    directory = var / "secrets"
    values: dict[str, str] = {}
    made: list[str] = []
    for secret in SECRETS:
        if os.environ.get(secret.variable):
            continue
        path = directory / secret.file
        if not path.exists():
            _write_private(path, secret.make())
            made.append(secret.file)
        values[secret.variable] = path.read_text()
    if made:
        say(f"secrets: generated {', '.join(made)} in {directory} (kept, mode 0600)")
    return values


def _write_private(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created private: never readable by others, not even for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value)
