"""Every refusal of the consent API's own rules (ciam_consent.errors): provoked once each, an
RFC 9457 problem with its type and status, and nothing written (every table as before).
Who-may-do-what refusals (401/403) belong to the authorisation tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from ciam_consent import errors
from ciam_devtools.testing.plugin import eventually, publish_event
from ciam_shared.events import CloudEvent, UserDeleted
from ciam_shared.http.problems import PROBLEM_BASE, PROBLEM_JSON, DomainError


def assert_problem(response: httpx.Response, error: type[DomainError], **extensions: Any) -> None:
    assert response.status_code == error.status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == PROBLEM_BASE + error.type_slug
    assert body["status"] == error.status
    assert body["title"] == error.title
    assert body["instance"] == response.request.url.path
    for name, value in extensions.items():
        assert body[name] == value


def test_every_error_of_the_service_is_provoked_below() -> None:
    """A new DomainError of the service needs its test here."""
    tested = {
        errors.SubjectNotFound,
        errors.SubjectErased,
        errors.PurposeNotFound,
        errors.UnknownPurpose,
        errors.PurposeVersionNotFound,
        errors.PurposeVersionTooOld,
        errors.LegalBasisNotConsent,
        errors.PurposeExists,
        errors.GpcConflict,
        errors.ReceiptNotFound,
    }
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, DomainError) and value is not DomainError
    }
    assert defined == tested


async def test_reading_an_unknown_subject(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    before = await api.snapshot()
    for path in ("consents", "history", "propagation"):
        response = await api.client.get(f"/v1/subjects/{subject}/{path}", headers=api.admin())
        assert_problem(response, errors.SubjectNotFound)
    assert await api.snapshot() == before


async def test_changing_an_erased_subject(consent_api, kafka_bootstrap, topic_prefix) -> None:
    api, subject = consent_api, uuid.uuid4()
    base = f"/v1/subjects/{subject}/consents"
    await api.client.post(f"{base}/analytics/grant", json={}, headers=api.admin())
    deleted = CloudEvent.wrap(
        UserDeleted(subject_id=subject, deleted_at=datetime.now(UTC)), source="/tests"
    )
    await publish_event(kafka_bootstrap, deleted, prefix=topic_prefix)
    await eventually(lambda: api.processed(deleted.id))
    before = await api.snapshot()

    single = await api.client.post(f"{base}/analytics/grant", json={}, headers=api.admin())
    assert_problem(single, errors.SubjectErased)
    withdraw = await api.client.post(f"{base}/analytics/withdraw", json={}, headers=api.admin())
    assert_problem(withdraw, errors.SubjectErased)
    batch = await api.client.post(
        base, json={"changes": [{"purpose": "analytics", "status": "denied"}]}, headers=api.admin()
    )
    assert_problem(batch, errors.SubjectErased)
    gpc = await api.client.get(base, headers=api.admin() | {"sec-gpc": "1"})
    assert_problem(gpc, errors.SubjectErased)
    assert await api.snapshot() == before


async def test_an_unknown_purpose_in_the_catalogue(consent_api) -> None:
    api = consent_api
    before = await api.snapshot()
    assert_problem(await api.client.get("/v1/purposes/no-such-purpose"), errors.PurposeNotFound)
    version = await api.client.post(
        "/v1/purposes/no-such-purpose/versions",
        json={"notice": {"en": "x", "pl": "y"}, "requires_reconsent": True},
        headers=api.admin(),
    )
    assert_problem(version, errors.PurposeNotFound)
    assert await api.snapshot() == before


async def test_a_change_of_an_unknown_purpose(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    before = await api.snapshot()
    response = await api.client.post(
        f"/v1/subjects/{subject}/consents/no-such-purpose/grant", json={}, headers=api.admin()
    )
    assert_problem(response, errors.UnknownPurpose, item=0)
    assert await api.snapshot() == before


async def test_a_notice_version_that_does_not_exist(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    before = await api.snapshot()
    for action in ("grant", "withdraw"):
        response = await api.client.post(
            f"/v1/subjects/{subject}/consents/analytics/{action}",
            json={"purpose_version": 2},
            headers=api.admin(),
        )
        assert_problem(response, errors.PurposeVersionNotFound, item=0)
    assert await api.snapshot() == before


async def test_a_grant_of_a_notice_version_below_the_minimum(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    published = await api.client.post(
        "/v1/purposes/analytics/versions",
        json={"notice": {"en": "v2", "pl": "v2"}, "requires_reconsent": True},
        headers=api.admin(),
    )
    assert published.status_code == 201
    before = await api.snapshot()
    response = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={
            "changes": [
                {"purpose": "email-marketing", "status": "granted"},
                {"purpose": "analytics", "status": "granted", "purpose_version": 1},
            ]
        },
        headers=api.admin(),
    )
    assert_problem(response, errors.PurposeVersionTooOld, item=1)
    assert await api.snapshot() == before
    # Refusing an old notice is not refused: nothing is agreed to by it.
    denied = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={"changes": [{"purpose": "analytics", "status": "denied", "purpose_version": 1}]},
        headers=api.admin(),
    )
    assert denied.status_code == 200, denied.text


async def test_a_change_of_a_purpose_not_based_on_consent(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    before = await api.snapshot()
    for action in ("grant", "withdraw"):
        response = await api.client.post(
            f"/v1/subjects/{subject}/consents/order-fulfilment/{action}",
            json={},
            headers=api.admin(),
        )
        assert_problem(response, errors.LegalBasisNotConsent, item=0)
    assert await api.snapshot() == before


async def test_adding_a_purpose_that_exists(consent_api) -> None:
    api = consent_api
    spec = {
        "id": "analytics",
        "names": {"en": "Analytics", "pl": "Analityka"},
        "descriptions": {"en": "Again.", "pl": "Znowu."},
        "legal_basis": "dpv:Consent",
        "data_categories": ["behavioural"],
        "notice": {"en": "Again.", "pl": "Znowu."},
    }
    before = await api.snapshot()
    catalogue = (await api.client.get("/v1/purposes/analytics")).json()
    response = await api.client.post("/v1/purposes", json=spec, headers=api.admin())
    assert_problem(response, errors.PurposeExists)
    assert await api.snapshot() == before
    assert (await api.client.get("/v1/purposes/analytics")).json() == catalogue


async def test_a_grant_of_a_sale_or_share_purpose_with_gpc(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    before = await api.snapshot()
    single = await api.client.post(
        f"/v1/subjects/{subject}/consents/partner-sharing/grant",
        json={},
        headers=api.admin() | {"sec-gpc": "1"},
    )
    assert_problem(single, errors.GpcConflict, item=0)
    batch = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={
            "changes": [
                {"purpose": "email-marketing", "status": "granted"},
                {"purpose": "partner-sharing", "status": "granted", "brand": "shop"},
            ]
        },
        headers=api.admin() | {"sec-gpc": "1"},
    )
    assert_problem(batch, errors.GpcConflict, item=1)
    # Not even the opt-out the signal asks for is written by a refused request.
    assert await api.snapshot() == before


async def test_a_receipt_that_does_not_exist(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    for version in (1, 2**31 - 1):  # an unknown subject (0 and below: test_integer_bounds.py)
        response = await api.client.get(
            f"/v1/subjects/{subject}/receipts/{version}", headers=api.admin()
        )
        assert_problem(response, errors.ReceiptNotFound)
    await api.client.post(
        f"/v1/subjects/{subject}/consents/analytics/grant", json={}, headers=api.admin()
    )
    before = await api.snapshot()
    for version in (2, 3):  # beyond its last change
        response = await api.client.get(
            f"/v1/subjects/{subject}/receipts/{version}", headers=api.admin()
        )
        assert_problem(response, errors.ReceiptNotFound)
    assert await api.snapshot() == before


MALFORMED = {
    "empty": {"changes": []},
    "expired is the sweep's": {"changes": [{"purpose": "analytics", "status": "expired"}]},
    "reconsent is the catalogue's": {
        "changes": [{"purpose": "analytics", "status": "needs_reconsent"}]
    },
    "version 0": {"changes": [{"purpose": "analytics", "status": "granted", "purpose_version": 0}]},
    "bad slug": {"changes": [{"purpose": "Analytics!", "status": "granted"}]},
    "unknown field": {"changes": [{"purpose": "analytics", "status": "granted", "colour": "red"}]},
    "gpc is a header": {
        "changes": [{"purpose": "analytics", "status": "granted"}],
        "collected_via": "gpc",
    },
    "system is the service's": {
        "changes": [{"purpose": "analytics", "status": "granted"}],
        "collected_via": "system",
    },
    "over 100": {"changes": [{"purpose": "analytics", "status": "granted"}] * 101},
    "time without zone": {
        "changes": [
            {"purpose": "analytics", "status": "granted", "expires_at": "2030-01-01T00:00:00"}
        ]
    },
}


async def test_a_malformed_change_is_a_validation_problem(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    before = await api.snapshot()
    for name, body in MALFORMED.items():
        response = await api.client.post(
            f"/v1/subjects/{subject}/consents", json=body, headers=api.admin()
        )
        assert response.status_code == 422, (name, response.text)
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["type"].endswith("/validation"), name
    assert await api.snapshot() == before
