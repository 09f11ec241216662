"""Expiry: the sweep (every 0.2 s here) moves grants past `expires_at` to expired, recorded,
chained and published like any change; grants without or before their expiry and refusals are
left alone; the expiry travels with the state, so a consumer fails closed before the sweep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ciam_consent.models import outbox
from ciam_consent_sdk import is_allowed
from ciam_consent_sdk.models import parse_state
from ciam_devtools.testing.plugin import eventually

STATE = "dev.ciam.consent.state.v1"


async def change(api: Any, subject: uuid.UUID, *items: dict[str, Any]) -> dict[str, Any]:
    response = await api.client.post(
        f"/v1/subjects/{subject}/consents", json={"changes": list(items)}, headers=api.admin()
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def records(api: Any, subject: uuid.UUID) -> dict[str, dict[str, Any]]:
    response = await api.client.get(f"/v1/subjects/{subject}/consents", headers=api.admin())
    return {c["purpose"]: c for c in response.json()["consents"]}


async def test_only_due_grants_expire_and_each_expiry_is_proved(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    soon = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    later = datetime.now(UTC) + timedelta(days=30)
    await change(
        api,
        subject,
        {"purpose": "analytics", "status": "granted", "expires_at": soon.isoformat()},
        {"purpose": "email-marketing", "status": "granted", "expires_at": later.isoformat()},
        {"purpose": "sms-marketing", "status": "granted"},
        {"purpose": "personalisation", "status": "denied"},
    )

    async def expired() -> dict[str, dict[str, Any]] | None:
        found = await records(api, subject)
        swept = found["analytics"]["collected_via"] == "system"  # recorded, not only read so
        return found if found["analytics"]["status"] == "expired" and swept else None

    found = await eventually(expired, timeout=15)
    assert {p: c["status"] for p, c in found.items()} == {
        "analytics": "expired",
        "email-marketing": "granted",
        "sms-marketing": "granted",
        "personalisation": "denied",
    }
    assert found["analytics"]["collected_via"] == "system"
    assert found["analytics"]["version"] == 5
    assert datetime.fromisoformat(found["analytics"]["expires_at"]) == soon

    history = await api.client.get(f"/v1/subjects/{subject}/history", headers=api.admin())
    assert history.json()["chain_valid"] is True
    last = history.json()["entries"][-1]
    assert (last["version"], last["status"], last["collected_via"]) == (5, "expired", "system")
    receipt = await api.client.get(f"/v1/subjects/{subject}/receipts/5", headers=api.admin())
    claims = receipt.json()["receipt"]
    assert (claims["status"], claims["collectionMethod"]) == ("expired", "system")
    assert claims["services"][0]["purposes"][0]["consentType"] == "IMPLICIT"
    assert claims["services"][0]["purposes"][0]["termination"] == soon.isoformat()
    types = await api.outbox_types()
    assert types[-2:] == ["dev.ciam.consent.expired.v1", STATE]
    assert types.count("dev.ciam.consent.expired.v1") == 1


async def test_an_expired_consent_is_granted_again_by_a_new_grant(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await change(api, subject, {"purpose": "analytics", "status": "granted", "expires_at": soon})

    async def expired() -> bool:
        found = (await records(api, subject))["analytics"]
        return bool(found["status"] == "expired" and found["collected_via"] == "system")

    await eventually(expired, timeout=15)
    again = await change(api, subject, {"purpose": "analytics", "status": "granted"})
    assert [c["status"] for c in again["changes"]] == ["granted"]
    current = (await records(api, subject))["analytics"]
    assert (current["status"], current["expires_at"]) == ("granted", None)


async def test_the_state_carries_the_expiry_so_a_consumer_fails_closed(consent_api) -> None:
    """Between the expiry and the sweep the state still says granted: the SDK reads the expiry
    and refuses (the consumer's side of failing closed)."""
    api, subject = consent_api, uuid.uuid4()
    expiry = datetime.now(UTC) + timedelta(days=1)
    await change(
        api,
        subject,
        {"purpose": "analytics", "status": "granted", "expires_at": expiry.isoformat()},
    )
    async with api.engine.connect() as connection:
        payload = await connection.scalar(
            select(outbox.c.payload).where(outbox.c.event_type == STATE).order_by(outbox.c.seq)
        )
    state = parse_state(payload)
    assert is_allowed(state, "analytics", at=expiry - timedelta(seconds=1))
    assert not is_allowed(state, "analytics", at=expiry)
    assert not is_allowed(state, "analytics", at=expiry + timedelta(seconds=1))
