"""`GET /history/latest`: each purpose's newest entry, the same entry the whole history ends
that purpose with, for whoever may read the history (a brand app: its declared purposes)."""

from __future__ import annotations

import uuid
from typing import Any

from ciam_consent.auth import READ


def newest_per_purpose(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    newest: dict[str, dict[str, Any]] = {}
    for entry in entries:  # oldest first: a later entry of a purpose replaces the earlier
        newest[entry["purpose"]] = entry
    return sorted(newest.values(), key=lambda e: e["version"])


async def test_each_purposes_newest_entry_is_the_one_its_whole_history_ends_with(
    consent_api,
) -> None:
    subject = uuid.uuid4()
    base = f"/v1/subjects/{subject}"
    me, shop = consent_api.customer(subject), consent_api.app()
    client = consent_api.client
    changes = [
        ("analytics", "grant", {}, me),
        ("email-marketing", "grant", {"channel": "email"}, shop),
        ("analytics", "withdraw", {}, shop),
        ("email-marketing", "withdraw", {"brand": "acme"}, me),
        ("personalisation", "grant", {}, me),
        ("analytics", "grant", {}, me),
    ]
    for purpose, action, narrowed, who in changes:
        answer = await client.post(
            f"{base}/consents/{purpose}/{action}", json=narrowed, headers=who
        )
        assert answer.status_code == 200, answer.text

    whole = (await client.get(f"{base}/history", headers=me)).json()["entries"]
    latest = await client.get(f"{base}/history/latest", headers=me)
    assert latest.status_code == 200, latest.text
    assert latest.json()["subject_id"] == str(subject)
    assert latest.json()["entries"] == newest_per_purpose(whole)
    assert [(e["purpose"], e["version"]) for e in latest.json()["entries"]] == [
        ("email-marketing", 4),
        ("personalisation", 5),
        ("analytics", 6),
    ]

    await consent_api.declare("news-app", ["email-marketing"])
    news = consent_api.app("news-app", scopes=(READ,))
    seen = (await client.get(f"{base}/history/latest", headers=news)).json()["entries"]
    assert [(e["purpose"], e["version"]) for e in seen] == [("email-marketing", 4)]


async def test_a_subject_with_nothing_recorded_has_no_latest_entries(consent_api) -> None:
    subject = uuid.uuid4()
    answer = await consent_api.client.get(
        f"/v1/subjects/{subject}/history/latest", headers=consent_api.customer(subject)
    )
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
