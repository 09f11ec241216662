"""Where the page says a change was made, from the consent history's source."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ciam_auth.privacy.schemas import HistoryEntry
from ciam_auth.privacy.service import changed_by


def entry(source: dict[str, Any], via: str = "web", name: str | None = None) -> HistoryEntry:
    return HistoryEntry(
        version=1,
        purpose="analytics",
        brand=None,
        channel=None,
        status="granted",
        collected_via=via,
        source=source,
        source_app_name=name,
        occurred_at=datetime.now(UTC),
    )


def test_auths_own_pages_are_named_by_the_app_the_consent_service_records() -> None:
    assert changed_by(entry({"app": "ciam-auth", "device": None})) == ("page", None)
    # Before the consent service recorded it, the page named itself in the device.
    assert changed_by(entry({"app": None, "device": "ciam-auth/privacy; Firefox"})) == (
        "page",
        None,
    )


def test_auths_social_import_reads_by_its_method_and_apps_by_their_name() -> None:
    social = "Sign-in service (social import)"  # how the consent service names it
    assert changed_by(entry({"app": "ciam-auth"}, via="import", name=social)) == ("via", "import")
    assert changed_by(entry({"app": "ciam-auth"}, via="gpc", name=social)) == ("via", "gpc")
    assert changed_by(entry({"app": "app_x1"}, via="app", name="Quiz")) == ("app", "Quiz")
    assert changed_by(entry({"app": "app_x1"}, via="app")) == ("app", "app_x1")
    assert changed_by(entry({}, via="gpc")) == ("via", "gpc")
