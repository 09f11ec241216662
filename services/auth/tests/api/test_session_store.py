"""SessionStore on a real Redis: lifetimes, what is stored, and the sessions-revoked hook."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from ciam_auth.sessions import store as sessions
from ciam_auth.sessions.store import SessionStore, session_id_of
from ciam_devtools.testing.plugin import eventually


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


def store(redis: aioredis.Redis, *, idle: int = 60, absolute: int = 600) -> SessionStore:
    return SessionStore(
        redis, idle_seconds=idle, absolute_seconds=absolute, prefix=f"t{uuid.uuid4().hex[:8]}:"
    )


async def test_redis_holds_the_hash_of_the_cookie_never_the_cookie(redis: aioredis.Redis) -> None:
    s = store(redis)
    account = uuid.uuid4()
    created = await s.create(account, device="Firefox on Linux", channel="web", amr=["pwd"])
    assert created.id == session_id_of(created.secret) and created.secret not in created.id
    keys = [k.decode() for k in await redis.keys(f"{s.prefix}*")]
    assert all(created.secret not in k for k in keys)
    fetched = await s.get_by_secret(created.secret)
    assert fetched is not None and fetched.id == created.id and fetched.amr == ["pwd"]
    assert fetched.last_seen >= created.last_seen and fetched.created_at == created.created_at
    assert fetched.secret == ""  # the secret is known only at creation
    assert [x.id for x in await s.list_for(account)] == [created.id]


async def test_a_session_ends_at_its_absolute_lifetime_even_when_used(
    redis: aioredis.Redis,
) -> None:
    s = store(redis, idle=60, absolute=1)
    created = await s.create(uuid.uuid4(), device="d", channel="web", amr=["pwd"])

    async def ended() -> bool:
        return await s.get(created.id) is None  # each get would push an idle expiry out

    await eventually(ended, timeout=10)


async def test_a_session_ends_after_its_idle_lifetime(redis: aioredis.Redis) -> None:
    s = store(redis, idle=1, absolute=600)
    account = uuid.uuid4()
    await s.create(account, device="d", channel="web", amr=["pwd"])

    async def gone() -> bool:
        return await s.list_for(account) == []  # listing does not count as activity

    await eventually(gone, timeout=10)


async def test_revocations_call_the_hooks_with_the_ended_ids(redis: aioredis.Redis) -> None:
    s = store(redis)
    account = uuid.uuid4()
    calls: list[tuple[uuid.UUID, list[str] | None]] = []

    async def record(account_id: uuid.UUID, ids: list[str] | None) -> None:
        calls.append((account_id, ids))

    unregister_store = s.on_sessions_revoked(record)
    unregister_process = sessions.on_sessions_revoked(record)
    try:
        one, two, three = [
            await s.create(account, device="d", channel="web", amr=["pwd"]) for _ in range(3)
        ]
        assert await s.revoke(account, one.id) is True
        assert await s.revoke(uuid.uuid4(), two.id) is False  # not that account's session
        assert await s.revoke_all(account, except_session_id=three.id) == [two.id]
        await s.revoke_all(account)
    finally:
        unregister_store()
        unregister_process()
    assert calls == [
        (account, [one.id]),
        (account, [one.id]),
        (account, [two.id]),
        (account, [two.id]),
        (account, None),
        (account, None),
    ]
    assert await s.get(three.id) is None
