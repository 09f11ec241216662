"""argon2id at the OWASP parameters (m=19 MiB, t=2, p=1), hashed off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)
