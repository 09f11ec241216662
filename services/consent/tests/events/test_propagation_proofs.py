"""Proofs of propagation (`ConsentApplied` from the subscribers) over the real broker: who
applied which change and when, who still owes one; a repeated proof changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ciam_devtools.testing.plugin import eventually, publish_event
from ciam_shared.events import CloudEvent, ConsentApplied


def applied(
    subscriber: str, subject: uuid.UUID, version: int, at: datetime
) -> CloudEvent[ConsentApplied]:
    data = ConsentApplied(
        subscriber=subscriber,
        subject_id=subject,
        version=version,
        event_id=uuid.uuid4(),
        applied_at=at,
    )
    return CloudEvent.wrap(data, source="/tests")


async def deliver(api: Any, *events: CloudEvent[Any], times: int = 1) -> None:
    kafka, prefix = api.settings.kafka_bootstrap_servers, api.settings.topic_prefix
    for event in events:
        await publish_event(kafka, event, prefix=prefix, times=times)
    for event in events:
        await eventually(lambda e=event: api.processed(e.id))


async def test_the_proofs_say_who_applied_each_change_and_who_still_owes_it(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    base = f"/v1/subjects/{subject}"
    await api.client.post(f"{base}/consents/analytics/grant", json={}, headers=api.admin())
    history = await api.client.get(f"{base}/history", headers=api.admin())
    first_at = datetime.fromisoformat(history.json()["entries"][0]["occurred_at"])
    await deliver(
        api,
        applied("profile", subject, 1, first_at),
        applied("webhook:shop", subject, 1, first_at),
    )
    await api.client.post(f"{base}/consents/analytics/withdraw", json={}, headers=api.admin())
    later = datetime.now(UTC) + timedelta(seconds=1)
    proof = applied("profile", subject, 2, later)
    await deliver(api, proof, times=2)  # a redelivery
    # A later proof of another subscriber for the same subject (the same partition): once it
    # is processed, the duplicate before it is too.
    await deliver(api, applied("notifier", subject, 1, later + timedelta(seconds=1)))

    response = await api.client.get(f"{base}/propagation", headers=api.admin())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subscribers"] == ["notifier", "profile", "webhook:shop"]
    first, second = body["changes"]
    assert (first["version"], first["status"]) == (1, "granted")
    assert {k: datetime.fromisoformat(v) for k, v in first["applied"].items()} == {
        "profile": first_at,
        "webhook:shop": first_at,
        "notifier": later + timedelta(seconds=1),
    }
    assert first["pending"] == []
    assert (second["version"], second["status"]) == (2, "withdrawn")
    assert {k: datetime.fromisoformat(v) for k, v in second["applied"].items()} == {
        "profile": later
    }
    # Known before the withdrawal and not yet past it; the notifier first appeared after it.
    assert second["pending"] == ["webhook:shop"]


async def test_the_proof_of_one_change_or_of_the_latest_is_that_change_of_the_whole_proof(
    consent_api,
) -> None:
    api, subject = consent_api, uuid.uuid4()
    base = f"/v1/subjects/{subject}"

    async def change(action: str) -> None:
        answer = await api.client.post(
            f"{base}/consents/analytics/{action}", json={}, headers=api.admin()
        )
        assert answer.status_code == 200, answer.text

    await change("grant")
    now = datetime.now(UTC)
    await deliver(api, applied("profile", subject, 1, now), applied("shop", subject, 1, now))
    await change("withdraw")
    await change("grant")
    # The profile applied version 2 (so 1 and 2), the shop version 1 only.
    await deliver(api, applied("profile", subject, 2, datetime.now(UTC)))

    async def proof(query: str) -> dict[str, Any]:
        response = await api.client.get(f"{base}/propagation{query}", headers=api.admin())
        assert response.status_code == 200, response.text
        return dict(response.json())

    whole = await proof("")
    assert [c["version"] for c in whole["changes"]] == [1, 2, 3]
    for version in (1, 2, 3):
        one = await proof(f"?version={version}")
        assert one["subscribers"] == ["profile", "shop"]
        assert one["changes"] == [whole["changes"][version - 1]]
    assert (await proof("?last=1"))["changes"] == whole["changes"][-1:]
    assert (await proof("?last=2"))["changes"] == whole["changes"][-2:]
    assert [c["pending"] for c in whole["changes"]] == [[], ["shop"], ["profile", "shop"]]
    assert (await proof("?version=4"))["changes"] == []

    refused = await api.client.get(f"{base}/propagation?version=0", headers=api.admin())
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
