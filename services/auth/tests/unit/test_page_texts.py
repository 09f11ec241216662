"""The pages' texts: Polish addresses the customer without a masculine-only form, and a
session's device label reads in the page's language."""

from __future__ import annotations

import re

import pytest

from ciam_auth.i18n import MESSAGES, channel_name, device_name, file_size
from ciam_auth.oidc.api.pages import MESSAGES as PROVIDER_MESSAGES
from ciam_auth.social.api.pages import MESSAGES as SOCIAL_MESSAGES

# Second person past tense or adjective in the masculine only: "zalogowałeś", "jesteś
# zalogowany", "nie zakładałeś".
MASCULINE_ONLY = re.compile(r"\w+łeś\b|jesteś \w+(any|ony|ty)\b|\bzalogowany\b", re.IGNORECASE)


@pytest.mark.parametrize(
    "catalogue", [MESSAGES["pl"], PROVIDER_MESSAGES["pl"], SOCIAL_MESSAGES["pl"]]
)
def test_polish_texts_have_no_masculine_only_forms(catalogue: dict[str, str]) -> None:
    found = {
        key: m.group(0) for key, text in catalogue.items() if (m := MASCULINE_ONLY.search(text))
    }
    assert found == {}


def test_device_labels_read_in_the_pages_language() -> None:
    assert device_name("pl", "Firefox on Linux") == "Firefox, Linux"
    assert device_name("en", "Firefox on Linux") == "Firefox on Linux"
    assert device_name("pl", "Unknown browser") == "Nieznana przeglądarka"
    assert device_name("pl", "Unknown browser on Windows") == "Nieznana przeglądarka, Windows"
    assert device_name("pl", "Android app") == "Aplikacja na Androida"
    assert device_name("pl", "httpx") == "httpx"  # a proper name stays


def test_channels_read_in_the_pages_language() -> None:
    assert channel_name("pl", "web") == "strona internetowa"
    assert channel_name("en", "web") == "website"
    assert channel_name("pl", "kiosk-7") == "kiosk-7"  # an app's own channel name stays


def test_a_download_size_reads_in_the_pages_language() -> None:
    assert file_size("en", 0) == "0 B"
    assert file_size("en", 1023) == "1023 B"
    assert file_size("en", 8306) == "8.1 KB"
    assert file_size("pl", 8306) == "8,1 KB"
    assert file_size("pl", 5 * 1024 * 1024 + 300 * 1024) == "5,3 MB"
    assert file_size("en", 3 * 1024**3) == "3.0 GB"
