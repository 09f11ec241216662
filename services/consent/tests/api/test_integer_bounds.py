"""Integers the database cannot hold are refused at the edge with problem details, never a 500
(issue 12: a receipt asked for with a huge version number)."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.usefixtures("consent_api")
HUGE = [2**31, 2**63, 10**30]


def _is_validation_problem(response) -> bool:  # type: ignore[no-untyped-def]
    return (
        response.status_code == 422
        and response.headers["content-type"] == "application/problem+json"
        and response.json()["type"].endswith("validation")
    )


@pytest.mark.parametrize("version", [*HUGE, 0, -1])
async def test_a_receipt_with_a_version_out_of_range_is_a_problem_not_a_500(
    consent_api, version: int
) -> None:
    subject = uuid.uuid4()
    response = await consent_api.client.get(
        f"/v1/subjects/{subject}/receipts/{version}", headers=consent_api.customer(subject)
    )
    assert _is_validation_problem(response), (response.status_code, response.text)


async def test_the_largest_version_is_a_plain_not_found(consent_api) -> None:
    subject = uuid.uuid4()
    response = await consent_api.client.get(
        f"/v1/subjects/{subject}/receipts/{2**31 - 1}", headers=consent_api.customer(subject)
    )
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("version", HUGE)
async def test_a_change_naming_a_huge_purpose_version_is_a_problem(
    consent_api, version: int
) -> None:
    subject = uuid.uuid4()
    headers = consent_api.customer(subject)
    one = await consent_api.client.post(
        f"/v1/subjects/{subject}/consents/email-marketing/grant",
        json={"purpose_version": version},
        headers=headers,
    )
    assert _is_validation_problem(one), (one.status_code, one.text)
    batch = await consent_api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={
            "changes": [
                {"purpose": "email-marketing", "status": "granted", "purpose_version": version}
            ]
        },
        headers=headers,
    )
    assert _is_validation_problem(batch), (batch.status_code, batch.text)
