"""Throttling of password and code attempts in Redis (the scheme: docs/services/auth.md).

Three counters, all keyed by hashes (no address or email in clear in Redis):

- per (account, client address): failures make this pair wait 1 s, 2 s, 4 s, ... after
  `pair_free` free ones, up to `pair_max_delay` (a temporary lockout of that client);
- per account, over all clients: the same doubling after `account_free` failures, but capped
  at `account_max_delay` (seconds): it slows a distributed attack down without ever locking
  the real customer out, who gets through from a fresh client once the short delay passes;
- per client address: at most `client_limit` attempts in a window, whatever the account.

A client that signed in to the account before carries a device cookie (`ciam_device`, OWASP's
"device cookies"): a random token, valid only for that account while Redis holds its hash
(nothing to forge, no use for another account). Its attempts are counted per (account,
device) instead of per (account, address), and neither the per-address limit nor the
account-wide delay applies to it: an attacker behind the same carrier or office NAT, whose
failures lock out that address, does not lock out the customer's known device; the attacker
stays throttled by the address. A stolen device cookie buys no more than an address does: its
own failures delay it like a pair's.

The account key is derived from the normalised email, so an unknown address is throttled
exactly like a known one: the answers tell nothing about which accounts exist. An attempt
refused by the throttle checks no password and counts as no failure, so waiting customers
never push their own delay further out.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from ciam_shared.http.problems import DomainError


class Throttled(DomainError):
    status = 429
    type_slug = "throttled"
    title = "Too many attempts"

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(
            f"Too many attempts. Try again in {self.retry_after} seconds.",
            retry_after=self.retry_after,
        )


def account_key(email: str) -> str:
    return hashlib.sha256(b"account:" + email.strip().lower().encode()).hexdigest()[:32]


def client_key(address: str) -> str:
    return hashlib.sha256(b"client:" + address.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ThrottlePolicy:
    window_seconds: int
    base_delay: float
    pair_free: int
    pair_max_delay: float
    account_free: int
    account_max_delay: float
    client_limit: int


def delay_after(failures: int, free: int, cap: float, base: float = 1.0) -> float:
    """0 for the first `free` failures, then base, 2 base, 4 base, ... up to `cap`."""
    if failures < free:
        return 0.0
    return float(min(cap, base * 2 ** min(failures - free, 30)))


@dataclass(frozen=True)
class Source:
    """Where an attempt comes from, as the throttle counts it: a known device of the account
    (`trusted`, counted by its token) or a client address."""

    key: str
    trusted: bool = False


class Throttle:
    def __init__(
        self,
        redis: aioredis.Redis,
        policy: ThrottlePolicy,
        *,
        prefix: str = "",
        device_seconds: int = 90 * 24 * 3600,
    ) -> None:
        self.redis = redis
        self.policy = policy
        self.prefix = prefix
        self.device_seconds = device_seconds

    def _keys(self, account: str, client: str) -> tuple[str, str, str]:
        p = f"{self.prefix}throttle:"
        return f"{p}pair:{account}:{client}", f"{p}account:{account}", f"{p}client:{client}"

    async def source(self, account: str, client: str, device_token: str | None) -> Source:
        """The device, if the client's device cookie is one of this account's; else the client
        address (`client`, a `client_key`)."""
        if await self.trusted(account, device_token):
            assert device_token is not None
            return Source(f"device:{_digest(device_token)}", trusted=True)
        return Source(client)

    async def check(self, account: str, source: Source) -> None:
        """Raise Throttled if this attempt must wait; counts the attempt for the address.

        A known device is held only to its own failures: not to the address's limit (shared
        with everyone behind the same NAT) nor to the account-wide delay (an attack from
        elsewhere).
        """
        pair, acct, per_client = self._keys(account, source.key)
        policy = self.policy
        if source.trusted:
            failures, last = await self.redis.hmget(pair, "failures", "last")
            now = time.time()
            wait = _wait(
                failures, last, policy.pair_free, policy.pair_max_delay, policy.base_delay, now
            )
            if wait > 0:
                raise Throttled(wait)
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(pair, "failures", "last")
            pipe.hmget(acct, "failures", "last")
            pipe.incr(per_client)
            pipe.expire(per_client, policy.window_seconds, nx=True)
            pipe.ttl(per_client)
            (pair_f, pair_t), (acct_f, acct_t), attempts, _, client_ttl = await pipe.execute()
        now = time.time()
        if int(attempts) > policy.client_limit:
            raise Throttled(max(1, int(client_ttl)))
        longest = max(
            _wait(pair_f, pair_t, policy.pair_free, policy.pair_max_delay, policy.base_delay, now),
            _wait(
                acct_f,
                acct_t,
                policy.account_free,
                policy.account_max_delay,
                policy.base_delay,
                now,
            ),
        )
        if longest > 0:
            raise Throttled(longest)

    async def failed(self, account: str, source: Source) -> None:
        pair, acct, _ = self._keys(account, source.key)
        now = str(time.time())
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in (pair, acct):
                pipe.hincrby(key, "failures", 1)
                pipe.hset(key, "last", now)
                pipe.expire(key, self.policy.window_seconds)
            await pipe.execute()

    async def succeeded(self, account: str, client: str) -> None:
        pair, acct, _ = self._keys(account, client)
        await self.redis.delete(pair, acct)

    async def signed_in(self, account: str, source: Source) -> str:
        """`succeeded` and `trust` in one round trip: the delays of this account and of this
        source end (a known device's success leaves its address's delay to the attacker behind
        it), and this client gets a new device token (returned)."""
        pair, acct, _ = self._keys(account, source.key)
        token = secrets.token_urlsafe(32)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(pair, acct)
            pipe.set(self._device(account, token), b"1", ex=self.device_seconds)
            await pipe.execute()
        return token

    def _device(self, account: str, token: str) -> str:
        return f"{self.prefix}throttle:device:{account}:{_digest(token)}"

    async def trust(self, account: str) -> str:
        """A new device token for a client that just signed in to `account` (OWASP's device
        cookies); it stays valid `device_seconds`."""
        token = secrets.token_urlsafe(32)
        await self.redis.set(self._device(account, token), b"1", ex=self.device_seconds)
        return token

    async def trusted(self, account: str, token: str | None) -> bool:
        if not token or len(token) > 100:
            return False
        return bool(await self.redis.exists(self._device(account, token)))

    async def forget_account(self, account: str) -> None:
        """After a reset proved the mailbox: the account-wide delay ends (per-client ones stay)."""
        await self.redis.delete(self._keys(account, "")[1])

    async def limit(self, name: str, key: str, *, limit: int, window: int) -> bool:
        """A plain fixed-window counter (e.g. reset mails per address): True while under."""
        counter = f"{self.prefix}throttle:{name}:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, window, nx=True)
            count, _ = await pipe.execute()
        return int(count) <= limit


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _wait(
    failures: bytes | str | None,
    last: bytes | str | None,
    free: int,
    cap: float,
    base: float,
    now: float,
) -> float:
    if failures is None or last is None:
        return 0.0
    delay = delay_after(int(failures), free, cap, base)
    return max(0.0, float(last) + delay - now)
