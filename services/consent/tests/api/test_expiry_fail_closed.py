"""The service's own answer between a grant's expiry and the next sweep: the sweep runs at start
and then once an hour here, so the window stays open for the whole test."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ciam_devtools.testing.plugin import eventually


@pytest.fixture
def consent_extra_settings() -> dict[str, object]:
    return {"expiry_sweep_seconds": 3600.0}


async def test_a_grant_past_its_expiry_never_reads_as_granted(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    expiry = datetime.now(UTC) + timedelta(seconds=1)
    granted = await api.client.post(
        f"/v1/subjects/{subject}/consents/analytics/grant",
        json={"expires_at": expiry.isoformat()},
        headers=api.admin(),
    )
    assert granted.status_code == 200, granted.text

    async def past() -> bool:  # waiting for the clock, not for an event
        return datetime.now(UTC) > expiry

    await eventually(past, timeout=10)
    response = await api.client.get(f"/v1/subjects/{subject}/consents", headers=api.admin())
    assert response.json()["consents"][0]["status"] != "granted"
