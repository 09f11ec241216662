"""What the schemathesis run over the consent API (tests/fuzz) found: each a 500 once."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.usefixtures("consent_api")


@pytest.mark.parametrize("version", [2**31, 2**63, -(2**31) - 1, 0])
async def test_a_receipt_version_beyond_any_change_is_a_problem_not_a_500(
    consent_api, version
) -> None:
    subject = uuid.uuid4()
    response = await consent_api.client.get(
        f"/v1/subjects/{subject}/receipts/{version}", headers=consent_api.customer(subject)
    )
    # 404 (no such change) here; 422 where the path parameter itself is bounded.
    assert response.status_code in {404, 422}, response.text
    assert response.headers["content-type"] == "application/problem+json"
