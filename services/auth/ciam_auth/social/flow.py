"""The browser-side state of a social sign-in, in Redis: the authorization request's secrets
(state, nonce, PKCE verifier) until the callback, then a pending decision (import choice or
link confirmation) until the customer answers. Both are bound to the browser by a random
cookie, so a callback or a pending link cannot be replayed from another browser (login CSRF).
Nothing here is the only copy of anything: a lost entry means "start again"."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any, Literal

import redis.asyncio as aioredis

BINDING_COOKIE = "ciam_social"
FLOW_TTL_S = 600
PENDING_TTL_S = 900
MAIL_LINK_TTL_S = 600
Mode = Literal["signin", "link", "reauth"]


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def safe_return_to(value: str | None) -> str:
    """Only a path on this service: never another host (open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@dataclass(frozen=True)
class FlowState:
    provider: str
    nonce: str
    verifier: str
    return_to: str
    mode: Mode
    binding: str  # SHA-256 of the browser's binding cookie
    account_id: str | None = None  # the signed-in account, when linking or re-authenticating
    session_id: str | None = None  # re-authentication: the session it stamps
    started_at: float = 0.0  # when the customer was sent to the provider (epoch seconds)
    # A brand app asked for a fresh sign-in (prompt=login, max_age): the provider must have
    # asked the customer after `started_at`.
    fresh: bool = False


@dataclass(frozen=True)
class Pending:
    """A validated upstream identity waiting for the customer's answer."""

    provider: str
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    offered: dict[str, Any]  # importable field -> the provider's value
    return_to: str
    mode: Mode
    binding: str
    # The local account to link to: the signed-in one (link mode), or the one whose verified
    # email matches (the customer must prove it by signing in to it).
    account_id: str | None = None
    kind: Literal["new", "link"] = "new"
    # A new account whose verified email takes over an unproven password registration of the
    # same address (takeover.py): the page says so before the customer agrees.
    takes_over: bool = False


class FlowStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def start(self, flow: FlowState) -> str:
        state = secrets.token_urlsafe(32)
        await self._redis.set(
            "social:flow:" + _hash(state), json.dumps(asdict(flow)), ex=FLOW_TTL_S
        )
        return state

    async def take(self, state: str) -> FlowState | None:
        """Once only: a replayed callback finds nothing."""
        raw = await self._redis.getdel("social:flow:" + _hash(state))
        return FlowState(**json.loads(raw)) if raw else None

    async def park(self, pending: Pending) -> str:
        pending_id = secrets.token_urlsafe(24)
        await self._redis.set(
            "social:pending:" + _hash(pending_id), json.dumps(asdict(pending)), ex=PENDING_TTL_S
        )
        return pending_id

    async def pending(self, pending_id: str) -> Pending | None:
        raw = await self._redis.get("social:pending:" + _hash(pending_id))
        return Pending(**json.loads(raw)) if raw else None

    async def done(self, pending_id: str) -> bool:
        return bool(await self._redis.delete("social:pending:" + _hash(pending_id)))

    # A link mailed to the account confirms one pending link. Only the token's hash is kept,
    # with the hash of the pending decision it confirms: the link works only in the browser
    # holding that decision (its cookies), so a forwarded link does nothing.

    async def issue_mail_link(self, pending_id: str) -> str:
        token = secrets.token_urlsafe(32)
        key = "social:mail-link:" + _hash(token)
        await self._redis.set(key, _hash(pending_id), ex=MAIL_LINK_TTL_S)
        return token

    async def mail_link_matches(self, token: str, pending_id: str) -> bool:
        raw = await self._redis.get("social:mail-link:" + _hash(token)) if token else None
        value = raw.decode() if isinstance(raw, bytes) else raw
        return value is not None and secrets.compare_digest(value, _hash(pending_id))

    async def use_mail_link(self, token: str, pending_id: str) -> bool:
        """Once only, and only by the browser the link is for (another browser's attempt
        leaves it usable for its owner)."""
        if not await self.mail_link_matches(token, pending_id):
            return False
        return bool(await self._redis.delete("social:mail-link:" + _hash(token)))


def new_binding() -> str:
    return secrets.token_urlsafe(32)


def binding_matches(cookie: str | None, expected_hash: str) -> bool:
    return cookie is not None and secrets.compare_digest(_hash(cookie), expected_hash)


def binding_hash(cookie: str) -> str:
    return _hash(cookie)
