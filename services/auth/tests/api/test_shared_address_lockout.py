"""A customer behind the same carrier or office NAT as an attacker keeps signing in on their
known device (its cookie), while the attack from that address stays throttled (issue 12;
OWASP "device cookies"). Two source addresses on loopback: 127.0.0.1 is the shared NAT
address, 127.0.0.2 somewhere else."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from ..conftest import PASSWORD, Auth

NAT, ELSEWHERE = "127.0.0.1", "127.0.0.2"
OWNER, MALLORY = "owner@example.com", "mallory@example.com"
RIGHT = {"email": OWNER, "password": PASSWORD}
WRONG = {"email": OWNER, "password": "guess guess guess"}


@pytest.fixture
def auth_overrides() -> dict[str, Any]:
    # Three free failures, then an hour-long wait: only the device cookie can explain a pass.
    return {
        "throttle_pair_free": 3,
        "throttle_account_free": 3,
        "throttle_base_delay": 3600.0,
        "throttle_pair_max_delay": 3600.0,
        "throttle_account_max_delay": 3600.0,
    }


def plant(client: httpx.AsyncClient, name: str, value: str) -> None:
    client.cookies.delete(name)
    client.cookies.set(name, value)


@asynccontextmanager
async def known_device(auth: Auth, address: str, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client that signed in once (it holds the device cookie) and signed out again."""
    async with auth.other_client(address) as client:
        first = await client.post("/v1/sessions", json={"email": email, "password": PASSWORD})
        assert first.status_code == 200 and "ciam_device" in client.cookies, first.text
        await client.delete("/v1/sessions/current")
        yield client


async def lock_out(auth: Auth, address: str) -> None:
    async with auth.other_client(address) as attacker:
        for _ in range(3):
            assert (await attacker.post("/v1/sessions", json=WRONG)).status_code == 401
        assert (await attacker.post("/v1/sessions", json=WRONG)).status_code == 429


async def test_the_known_device_signs_in_behind_the_attackers_address(auth: Auth) -> None:
    await auth.verified_account(OWNER)
    await auth.verified_account(MALLORY)
    async with known_device(auth, NAT, OWNER) as phone:
        await lock_out(auth, NAT)

        again = await phone.post("/v1/sessions", json=RIGHT)
        assert again.status_code == 200, again.text
        await phone.delete("/v1/sessions/current")

        # The attack stays throttled, even right after the owner's success.
        async with auth.other_client(NAT) as attacker:
            still = await attacker.post("/v1/sessions", json=RIGHT)
            assert still.status_code == 429
            # A forged device cookie does not help ...
            plant(attacker, "ciam_device", secrets.token_urlsafe(32))
            assert (await attacker.post("/v1/sessions", json=RIGHT)).status_code == 429
        # ... nor the attacker's own device cookie, of another account.
        async with known_device(auth, ELSEWHERE, MALLORY) as mallory:
            own = mallory.cookies["ciam_device"]
        async with auth.other_client(NAT) as attacker:
            plant(attacker, "ciam_device", own)
            assert (await attacker.post("/v1/sessions", json=RIGHT)).status_code == 429

        # And the known device keeps working.
        assert (await phone.post("/v1/sessions", json=RIGHT)).status_code == 200


async def test_a_stolen_device_cookie_is_throttled_like_an_address(auth: Auth) -> None:
    await auth.verified_account(OWNER)
    async with known_device(auth, NAT, OWNER) as phone:
        stolen = phone.cookies["ciam_device"]
    async with auth.other_client(ELSEWHERE) as thief:
        plant(thief, "ciam_device", stolen)
        for _ in range(3):
            assert (await thief.post("/v1/sessions", json=WRONG)).status_code == 401
        assert (await thief.post("/v1/sessions", json=WRONG)).status_code == 429
        assert (await thief.post("/v1/sessions", json=RIGHT)).status_code == 429


@pytest.mark.parametrize("auth_overrides", [{"throttle_client_limit": 4}])
async def test_the_known_device_is_not_held_to_the_shared_addresses_limit(auth: Auth) -> None:
    await auth.verified_account(OWNER)
    async with known_device(auth, NAT, OWNER) as phone:
        async with auth.other_client(NAT) as sprayer:  # one guess at many accounts
            codes = [
                (
                    await sprayer.post(
                        "/v1/sessions",
                        json={"email": f"u{i}@example.com", "password": "guess guess guess"},
                    )
                ).status_code
                for i in range(5)
            ]
        assert codes[-1] == 429, codes
        assert (await phone.post("/v1/sessions", json=RIGHT)).status_code == 200
