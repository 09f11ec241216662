"""Passwords: argon2id hashed in a worker pool, the policy, and the offline common-password list.

argon2-cffi releases the GIL while it hashes, so a small thread pool keeps the event loop free
and lets `hash_workers` hashes run at once. Each hash is a PHC string (`$argon2id$v=19$m=..,t=..,
p=..$salt$hash`): the algorithm and parameters travel with it, so a login can tell that a hash is
weaker than the current settings and upgrade it.
"""

from __future__ import annotations

import asyncio
import gzip
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from prometheus_client import Counter

from ciam_shared.http.problems import DomainError

COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"
# Also what shows that an unknown account costs a real verification (no enumeration by time).
ARGON2_OPERATIONS = Counter(
    "ciam_auth_argon2_operations_total", "argon2id hashes and verifications", ["operation"]
)


class PasswordRefused(DomainError):
    status = 422
    type_slug = "password-refused"
    title = "Password refused"


class PasswordSettings(Protocol):
    """What the hasher reads of the service's settings (AuthSettings has it all)."""

    @property
    def argon2_time_cost(self) -> int: ...
    @property
    def argon2_memory_kib(self) -> int: ...
    @property
    def argon2_parallelism(self) -> int: ...
    @property
    def hash_workers(self) -> int: ...
    @property
    def password_min_length(self) -> int: ...
    @property
    def password_max_length(self) -> int: ...


def normalise(password: str) -> str:
    """NFKC, so the same password typed on two keyboards (composed or not) is one password."""
    return unicodedata.normalize("NFKC", password)


def load_common_passwords() -> frozenset[str]:
    data = resources.files("ciam_auth").joinpath("data", COMMON_PASSWORDS_FILE).read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").splitlines())


@dataclass(frozen=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


class Passwords:
    """The service's password hasher. One per app; `close()` ends its worker pool."""

    def __init__(self, settings: PasswordSettings, common: frozenset[str] | None = None) -> None:
        self.settings = settings
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(settings.hash_workers, thread_name_prefix="argon2")
        self._common = common
        # Verified against when an account does not exist, so an unknown address costs a real
        # verification too (no timing difference to enumerate accounts with).
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def load(self) -> None:
        if self._common is None:
            self._common = await asyncio.get_running_loop().run_in_executor(
                self._pool, load_common_passwords
            )

    def check_policy(self, password: str) -> str:
        """The normalised password, or PasswordRefused (too short/long, or a common one)."""
        normal = normalise(password)
        if (
            not self.settings.password_min_length
            <= len(normal)
            <= self.settings.password_max_length
        ):
            raise PasswordRefused(
                f"A password has {self.settings.password_min_length} to "
                f"{self.settings.password_max_length} characters.",
                reason="length",
            )
        common = self._common if self._common is not None else load_common_passwords()
        self._common = common
        if normal in common or normal.lower() in common:
            raise PasswordRefused(
                "This password is among the most common ones and known from data breaches.",
                reason="common",
            )
        return normal

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        ARGON2_OPERATIONS.labels("hash").inc()
        return await loop.run_in_executor(self._pool, self.hasher.hash, normalise(password))

    async def verify(self, stored_hash: str | None, password: str) -> Verification:
        """Check `password`; with no stored hash (unknown account) spend the same work and fail."""
        loop = asyncio.get_running_loop()
        target = stored_hash or self._dummy_hash
        ARGON2_OPERATIONS.labels("verify").inc()
        ok = await loop.run_in_executor(self._pool, self._verify, target, normalise(password))
        if not ok or stored_hash is None:
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self.weaker_than_current(stored_hash))

    def weaker_than_current(self, stored_hash: str) -> bool:
        """Only upgrades: a hash made with stronger parameters than today's stays as it is."""
        try:
            params = extract_parameters(stored_hash)
        except InvalidHashError:
            return True
        current = self.hasher
        return (
            params.type is not Type.ID
            or params.memory_cost < current.memory_cost
            or params.time_cost < current.time_cost
        )

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
