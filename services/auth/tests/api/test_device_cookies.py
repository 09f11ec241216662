"""Device cookies: a device that signed in before is exempt from the account-wide delay, so a
distributed attack does not even slow the customer's own devices (OWASP "device cookies")."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import PASSWORD, Auth


@pytest.fixture
def auth_overrides() -> dict[str, Any]:
    # A long account-wide delay after 3 failures, so only the device cookie can explain a pass.
    return {
        "throttle_pair_free": 3,
        "throttle_account_free": 3,
        "throttle_base_delay": 60.0,
        "throttle_account_max_delay": 600.0,
    }


async def test_a_known_device_gets_in_during_a_distributed_attack(auth: Auth) -> None:
    await auth.verified_account("owner@example.com")
    right = {"email": "owner@example.com", "password": PASSWORD}
    async with auth.other_client("192.0.2.10") as phone:
        first = await phone.post("/v1/sessions", json=right)
        assert first.status_code == 200 and "ciam_device" in phone.cookies
        await phone.delete("/v1/sessions/current")

        wrong = {"email": "owner@example.com", "password": "guess guess guess"}
        for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):  # a botnet
            async with auth.other_client(address) as bot:
                assert (await bot.post("/v1/sessions", json=wrong)).status_code == 401
        async with auth.other_client("203.0.113.4") as bot:
            assert (await bot.post("/v1/sessions", json=wrong)).status_code == 429

        async with auth.other_client("198.51.100.99") as stranger:
            delayed = await stranger.post("/v1/sessions", json=right)
            assert delayed.status_code == 429 and int(delayed.headers["retry-after"]) > 30
        again = await phone.post("/v1/sessions", json=right)
        assert again.status_code == 200, again.text
