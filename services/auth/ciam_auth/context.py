"""What the use cases need besides a database session, wired once per app by `main.py`."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_auth.adapters.passwords import Passwords
from ciam_auth.adapters.sealing import KeyEncryption
from ciam_auth.adapters.throttle import Throttle
from ciam_auth.queues.jobs import Jobs
from ciam_auth.queues.mailer import Mailer
from ciam_auth.sessions.store import SessionStore
from ciam_auth.settings import AuthSettings

SOURCE = "/ciam/auth"


@dataclass(frozen=True)
class AuthContext:
    settings: AuthSettings
    passwords: Passwords
    sessions: SessionStore
    throttle: Throttle
    mailer: Mailer
    jobs: Jobs
    redis: aioredis.Redis
    # For the routes and workers that open their own transactions (ciam_auth.transactions).
    db: async_sessionmaker[AsyncSession]
    redis_prefix: str
    # Seals secrets kept at rest (TOTP); the same key protects the signing keys.
    sealing: KeyEncryption
    # One connection pool for calls to the platform's own services (the privacy centre's and
    # the consent screen's calls to consent), not a client per request: each new client built
    # a TLS context (loading the CA bundle), 37% of auth's CPU on a click on /privacy (py-spy).
    services_http: httpx.AsyncClient

    @property
    def topic_prefix(self) -> str:
        return self.settings.topic_prefix

    def link(self, path: str) -> str:
        return self.settings.public_base_url + path
