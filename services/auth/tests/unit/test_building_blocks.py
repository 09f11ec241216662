"""The pure pieces: TOTP against RFC 6238's vectors, return_to, languages, the delay curve,
the password policy."""

from __future__ import annotations

import base64

import pytest

from ciam_auth.adapters import totp
from ciam_auth.adapters.passwords import Passwords, load_common_passwords
from ciam_auth.adapters.throttle import delay_after
from ciam_auth.errors import PasswordRefused
from ciam_auth.i18n import MESSAGES, choose_locale
from ciam_auth.settings import AuthSettings
from ciam_auth.web import device_label, safe_return_to

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix_time", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (20000000000, "65353130"),
    ],
)
def test_totp_matches_the_rfc_6238_sha1_vectors(unix_time: int, expected: str) -> None:
    assert totp.hotp(RFC_SECRET, unix_time // 30, digits=8) == expected


def test_a_code_is_accepted_one_step_either_side_and_never_twice() -> None:
    now = 1_700_000_000.0
    step = totp.current_step(now)
    assert totp.matching_step(RFC_SECRET, totp.hotp(RFC_SECRET, step - 1), now=now) == step - 1
    assert totp.matching_step(RFC_SECRET, totp.hotp(RFC_SECRET, step + 2), now=now) is None
    code = totp.hotp(RFC_SECRET, step)
    assert totp.matching_step(RFC_SECRET, code, after_step=step, now=now) is None
    assert totp.matching_step(RFC_SECRET, "12a456", now=now) is None


def test_recovery_codes_are_random_and_hashed_ignoring_case_and_dashes() -> None:
    codes = totp.new_recovery_codes()
    assert len(set(codes)) == 10
    assert totp.recovery_code_hash(codes[0]) == totp.recovery_code_hash(
        codes[0].upper().replace("-", " ")
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/account?x=1", "/account?x=1"),
        ("//evil.example/", "/account"),
        ("/\\evil.example", "/account"),
        ("https://evil.example/", "/account"),
        ("account", "/account"),
        ("/a\nb", "/account"),
        (None, "/account"),
    ],
)
def test_return_to_is_only_a_path_on_this_site(value: str | None, expected: str) -> None:
    assert safe_return_to(value) == expected


def test_the_language_comes_from_ui_locales_then_accept_language() -> None:
    assert choose_locale("pl-PL en", "en") == "pl"
    assert choose_locale(None, "de-DE,pl;q=0.8,en;q=0.5") == "pl"
    assert choose_locale(None, "en;q=0.2,pl;q=0") == "en"
    assert choose_locale("fr", None) == "en"
    assert set(MESSAGES["pl"]) == set(MESSAGES["en"])


def test_the_delay_doubles_after_the_free_failures_up_to_its_cap() -> None:
    assert [delay_after(n, 3, 10.0) for n in range(2, 9)] == [0, 1, 2, 4, 8, 10, 10]


def test_device_labels_are_coarse() -> None:
    ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit Safari/604.1"
    assert device_label(ua) == "Safari on iOS"
    assert device_label(None) == "Unknown browser"


def test_the_policy_refuses_short_long_and_common_passwords() -> None:
    passwords = Passwords(AuthSettings(environment="development"), common=load_common_passwords())
    try:
        assert len(load_common_passwords()) == 100_000
        for bad, reason in [("short", "length"), ("x" * 129, "length"), ("Password1", "common")]:
            with pytest.raises(PasswordRefused) as refused:
                passwords.check_policy(bad)
            assert refused.value.extensions["reason"] == reason
        assert passwords.check_policy("ﬁne passphrase here") == "fine passphrase here"  # NFKC
        assert passwords.check_policy("ż" * 128)
    finally:
        passwords.close()


def test_settings_refuse_argon2_below_the_owasp_minimum() -> None:
    with pytest.raises(ValueError, match="OWASP"):
        AuthSettings(environment="development", argon2_memory_kib=8192)
