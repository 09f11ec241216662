"""Confirmation texts in Polish and English; SMTP dot-stuffing."""

from __future__ import annotations

import pytest

from ciam_notifier.service.confirmations import language, render
from ciam_notifier.smtp import dot_stuffed
from ciam_shared.events import ConsentStatus

LOCALES = [
    ("pl", "pl"),
    ("pl-PL", "pl"),
    ("pl_PL", "pl"),
    ("PL", "pl"),
    ("en-GB", "en"),
    ("de", "en"),
]


@pytest.mark.parametrize(("locale", "expected"), LOCALES)
def test_polish_locales_read_polish_and_the_rest_english(locale: str, expected: str) -> None:
    assert language(locale) == expected


def test_a_withdrawal_reads_you_will_no_longer_receive_in_both_languages() -> None:
    change = {"status": "withdrawn", "purpose": "newsletter", "channel": "sms", "brand": "acme"}
    title_en, body_en = render("en", change)
    title_pl, body_pl = render("pl-PL", change)
    assert "You will no longer receive “newsletter” (text messages)." in body_en
    assert "Nie będziesz już otrzymywać „newsletter” (SMS)." in body_pl
    assert body_en.startswith("[acme] ") and body_pl.startswith("[acme] ")
    assert title_pl != title_en


@pytest.mark.parametrize("status", list(ConsentStatus))
def test_every_consent_status_has_a_text_in_both_languages(status: ConsentStatus) -> None:
    change = {"status": status.value, "purpose": "profiling", "channel": None, "brand": None}
    for locale in ("en", "pl"):
        _, body = render(locale, change)
        assert "profiling" in body


def test_lines_starting_with_a_dot_are_doubled_and_line_ends_are_crlf() -> None:
    assert dot_stuffed(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n"
    assert dot_stuffed(b"one\r\n") == b"one\r\n"
