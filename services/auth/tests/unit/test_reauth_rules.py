"""The freshness rule of a re-authentication through a provider (social/reauth.py)."""

from __future__ import annotations

from ciam_auth.social.api.reauth import CLOCK_SKEW_S, fresh_sign_in

STARTED = 1_800_000_000.0


def test_an_upstream_sign_in_after_the_request_is_fresh() -> None:
    assert fresh_sign_in({"auth_time": int(STARTED) + 5}, STARTED) is None
    assert fresh_sign_in({"auth_time": STARTED - CLOCK_SKEW_S}, STARTED) is None  # clock skew


def test_an_older_missing_or_malformed_auth_time_is_not() -> None:
    assert fresh_sign_in({"auth_time": STARTED - CLOCK_SKEW_S - 1}, STARTED) is not None
    assert fresh_sign_in({}, STARTED) == "auth_time missing"
    assert fresh_sign_in({"auth_time": "1800000000"}, STARTED) == "auth_time missing"
    assert fresh_sign_in({"auth_time": True}, STARTED) == "auth_time missing"
