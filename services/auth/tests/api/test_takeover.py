"""Against account takeover: no enumeration (same status and body; an unknown account costs a
password verification too), and throttling that slows and locks an attacking client but never
locks the real customer out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ciam_auth.adapters.passwords import ARGON2_OPERATIONS
from ciam_devtools.testing.plugin import eventually

from ..conftest import PASSWORD, Auth


def operations(kind: str) -> float:
    return ARGON2_OPERATIONS.labels(kind)._value.get()


def same(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "request_id"}


async def test_login_answers_the_same_for_known_and_unknown_accounts(auth: Auth) -> None:
    await auth.verified_account("known@example.com")
    before = operations("verify")
    known = await auth.client.post(
        "/v1/sessions", json={"email": "known@example.com", "password": "wrong password 1"}
    )
    between = operations("verify")
    unknown = await auth.client.post(
        "/v1/sessions", json={"email": "nobody@example.com", "password": "wrong password 1"}
    )
    after = operations("verify")
    assert known.status_code == unknown.status_code == 401
    assert same(known.json()) == same(unknown.json())
    assert between - before == 1 and after - between == 1  # the unknown one verified a hash too


async def test_the_login_page_answers_the_same_for_known_and_unknown_accounts(auth: Auth) -> None:
    await auth.verified_account("page@example.com")
    page = await auth.client.get("/login")
    csrf = re.findall(r'name="csrf" value="([^"]+)"', page.text)[0]  # the form's token

    async def attempt(email: str) -> Any:
        return await auth.client.post(
            "/login",
            data={"email": "x@example.com", "password": "bad password", "csrf": csrf}
            | {"email": email},
        )

    known, unknown = await attempt("page@example.com"), await attempt("ghost@example.com")
    assert known.status_code == unknown.status_code == 401
    assert known.text.replace("page@", "@") == unknown.text.replace("ghost@", "@")
    assert known.text.count("not correct") == 1


async def test_registration_and_reset_answer_the_same_for_known_and_unknown(auth: Auth) -> None:
    await auth.verified_account("taken@example.com")
    before = operations("hash")
    known = await auth.client.post(
        "/v1/accounts", json={"email": "taken@example.com", "password": PASSWORD}
    )
    between = operations("hash")
    unknown = await auth.client.post(
        "/v1/accounts", json={"email": "free@example.com", "password": PASSWORD}
    )
    assert known.status_code == unknown.status_code == 202
    assert same(known.json()) == same(unknown.json())
    assert between - before == 1 and operations("hash") - between == 1
    resets = [
        await auth.client.post("/v1/password-resets", json={"email": address})
        for address in ("taken@example.com", "nobody@example.com")
    ]
    assert resets[0].status_code == resets[1].status_code == 202
    assert same(resets[0].json()) == same(resets[1].json())


@pytest.fixture
def auth_overrides() -> dict[str, Any]:
    # A pair (account, client) waits 60 s after 3 failures; the account as a whole at most 1 s.
    return {
        "throttle_pair_free": 3,
        "throttle_base_delay": 60.0,
        "throttle_account_free": 3,
        "throttle_account_max_delay": 1.0,
    }


async def test_a_storm_locks_the_attacking_client_but_the_customer_still_gets_in(
    auth: Auth,
) -> None:
    await auth.verified_account("target@example.com")
    wrong = {"email": "target@example.com", "password": "guess guess guess"}
    right = {"email": "target@example.com", "password": PASSWORD}
    async with auth.other_client("203.0.113.66") as attacker:
        storm = [(await attacker.post("/v1/sessions", json=wrong)).status_code for _ in range(8)]
        assert storm == [401, 401, 401] + [429] * 5
        locked = await attacker.post("/v1/sessions", json=right)
        assert locked.status_code == 429  # a lock checks no password: guessing is pointless
        assert int(locked.headers["retry-after"]) > 30

        async with auth.other_client("198.51.100.20") as customer:

            async def customer_signs_in() -> bool:
                response = await customer.post("/v1/sessions", json=right)
                if response.status_code == 429:  # the account-wide delay: short, capped
                    assert int(response.headers["retry-after"]) <= 1
                return response.status_code == 200

            await eventually(customer_signs_in, timeout=10)
        assert (await attacker.post("/v1/sessions", json=right)).status_code == 429
    # The same for an address without an account: the throttle cannot tell accounts apart.
    async with auth.other_client("203.0.113.67") as prober:
        ghost = {"email": "ghost@example.com", "password": "guess guess guess"}
        probe = [(await prober.post("/v1/sessions", json=ghost)).status_code for _ in range(5)]
        assert probe == [401, 401, 401, 429, 429]


async def test_registrations_and_reset_requests_are_limited_per_client_address(
    auth: Auth,
) -> None:
    limit = auth.ctx.settings.throttle_requests_per_client
    async with auth.other_client("203.0.113.200") as flood:
        for i in range(limit):
            response = await flood.post("/v1/password-resets", json={"email": f"x{i}@example.com"})
            assert response.status_code == 202
        over = await flood.post("/v1/password-resets", json={"email": "known@example.com"})
        assert over.status_code == 429 and "retry-after" in over.headers
    # Another address is not affected.
    fine = await auth.client.post("/v1/password-resets", json={"email": "x@example.com"})
    assert fine.status_code == 202
