"""The passkey and email-code texts: every key in both languages, and reachable through the
one catalogue (`ciam_auth.i18n.text`)."""

from __future__ import annotations

from ciam_auth.i18n import MESSAGES, text
from ciam_auth.passkeys.texts import MESSAGES as PASSKEY_MESSAGES


def test_every_passkey_text_is_in_polish_and_english() -> None:
    assert set(PASSKEY_MESSAGES["pl"]) == set(PASSKEY_MESSAGES["en"])
    assert not set(PASSKEY_MESSAGES["en"]) & set(MESSAGES["en"])  # no key shadowed


def test_the_catalogue_answers_passkey_texts_in_the_asked_language() -> None:
    assert text("pl", "passkey_create") == "Utwórz klucz dostępu"
    assert text("en", "passkey_create") == "Create a passkey"
    assert text("de", "passkey_create") == "Create a passkey"
    assert "7" in text("pl", "email_code_sent", minutes=7)
