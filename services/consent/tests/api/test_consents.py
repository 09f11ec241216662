"""The consent API over HTTP, on real PostgreSQL (and Kafka, Redis for the service itself)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from ciam_consent.integrity import verify_receipt
from ciam_consent.models import HistoryEntry
from ciam_devtools.testing.plugin import eventually

pytestmark = pytest.mark.usefixtures("consent_api")


async def test_the_catalogue_is_public_bilingual_and_versioned(consent_api) -> None:
    response = await consent_api.client.get("/v1/purposes")
    assert response.status_code == 200
    purposes = {p["id"]: p for p in response.json()}
    assert {"email-marketing", "analytics", "partner-sharing", "social-import"} <= set(purposes)
    email = purposes["email-marketing"]
    assert email["names"]["pl"] == "Marketing e-mailowy"
    assert email["legal_basis"] == "dpv:Consent"
    assert email["versions"][0]["notice_hash"] and len(email["versions"][0]["notice_hash"]) == 64
    assert purposes["partner-sharing"]["sale_or_share"] is True


async def test_a_grant_is_recorded_chained_signed_and_staged_for_both_topics(consent_api) -> None:
    subject = uuid.uuid4()
    response = await consent_api.client.post(
        f"/v1/subjects/{subject}/consents/email-marketing/grant",
        json={"channel": "email", "collected_via": "web"},
        headers=consent_api.customer(subject) | {"user-agent": "Firefox/140"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 1
    assert body["changes"][0]["status"] == "granted"

    current = await consent_api.client.get(
        f"/v1/subjects/{subject}/consents", headers=consent_api.customer(subject)
    )
    consent = current.json()["consents"][0]
    assert (consent["purpose"], consent["channel"], consent["status"]) == (
        "email-marketing",
        "email",
        "granted",
    )
    assert await consent_api.outbox_types() == [
        "dev.ciam.consent.granted.v1",
        "dev.ciam.consent.state.v1",
    ]

    receipt = await consent_api.client.get(
        body["changes"][0]["receipt_url"], headers=consent_api.customer(subject)
    )
    jwks = (await consent_api.client.get("/v1/receipts/jwks.json")).json()
    claims = verify_receipt(receipt.json()["jws"], jwks)
    assert claims["piiPrincipalId"] == str(subject)
    assert claims["status"] == "granted"
    assert claims["services"][0]["purposes"][0]["purposeId"] == "email-marketing"
    # httpx's ASGI transport connects as 127.0.0.1: kept only as its /24.
    assert claims["source"]["ip"] == "127.0.0.0/24"
    assert claims["source"]["user_agent_sha256"] == hashlib.sha256(b"Firefox/140").hexdigest()
    assert claims["consentReceiptID"] == receipt.json()["receipt"]["consentReceiptID"]


async def test_withdrawing_is_as_easy_as_granting_and_repeating_changes_nothing(
    consent_api,
) -> None:
    subject = uuid.uuid4()
    headers = consent_api.customer(subject)
    base = f"/v1/subjects/{subject}/consents/sms-marketing"
    assert (
        await consent_api.client.post(f"{base}/grant", json={}, headers=headers)
    ).status_code == 200
    withdrawn = await consent_api.client.post(f"{base}/withdraw", json={}, headers=headers)
    assert withdrawn.json()["changes"][0]["status"] == "withdrawn"
    again = await consent_api.client.post(f"{base}/withdraw", json={}, headers=headers)
    assert again.json()["changes"] == []
    assert again.json()["version"] == 2
    assert await consent_api.history_count() == 2


async def test_a_batch_applies_every_change_with_its_own_version(consent_api) -> None:
    subject = uuid.uuid4()
    response = await consent_api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={
            "changes": [
                {"purpose": "email-marketing", "status": "granted"},
                {"purpose": "analytics", "status": "denied"},
                {"purpose": "personalisation", "status": "granted", "channel": "app"},
            ]
        },
        headers=consent_api.customer(subject),
    )
    assert response.status_code == 200
    assert [c["version"] for c in response.json()["changes"]] == [1, 2, 3]
    types = await consent_api.outbox_types()
    assert types.count("dev.ciam.consent.state.v1") == 1  # one state for the whole batch
    assert len(types) == 4


@pytest.mark.parametrize(
    ("bad", "status", "slug"),
    [
        ({"purpose": "no-such-purpose", "status": "granted"}, 422, "unknown-purpose"),
        ({"purpose": "order-fulfilment", "status": "granted"}, 409, "legal-basis-not-consent"),
        (
            {"purpose": "analytics", "status": "granted", "purpose_version": 7},
            422,
            "purpose-version-not-found",
        ),
        ({"purpose": "analytics", "status": "maybe"}, 422, "validation"),
        (
            {"purpose": "analytics", "status": "granted", "expires_at": "2030-01-01T00:00:00"},
            422,
            "validation",
        ),
    ],
)
async def test_a_batch_with_one_bad_item_is_refused_whole(consent_api, bad, status, slug) -> None:
    subject = uuid.uuid4()
    response = await consent_api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={"changes": [{"purpose": "email-marketing", "status": "granted"}, bad]},
        headers=consent_api.customer(subject),
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(f"/{slug}")
    if slug != "validation":
        assert response.json()["item"] == 1
    assert await consent_api.history_count() == 0
    assert await consent_api.outbox_types() == []


async def test_a_malformed_subject_id_is_a_problem(consent_api) -> None:
    response = await consent_api.client.get(
        "/v1/subjects/not-a-uuid/consents", headers=consent_api.app()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "subject_id"]


async def test_who_may_do_what(consent_api) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    url = f"/v1/subjects/{bob}/consents/email-marketing/grant"
    client = consent_api.client
    assert (await client.post(url, json={})).status_code == 401
    assert (
        await client.post(url, json={}, headers={"authorization": "Bearer x.y.z"})
    ).status_code == 401
    assert (await client.post(url, json={}, headers=consent_api.customer(alice))).status_code == 403
    reader = consent_api.app(scopes=("consent:read",))
    assert (await client.post(url, json={}, headers=reader)).status_code == 403
    shop = consent_api.app(brand="shop")
    other_brand = await client.post(url, json={"brand": "cinema"}, headers=shop)
    assert other_brand.status_code == 403
    own_brand = await client.post(url, json={}, headers=shop)
    assert own_brand.status_code == 200
    assert own_brand.json()["changes"][0]["brand"] == "shop"
    admin_only = await client.post(
        "/v1/purposes/analytics/versions",
        json={"notice": {"en": "x", "pl": "y"}},
        headers=shop,
    )
    assert admin_only.status_code == 403


async def test_an_expired_token_is_refused(consent_api) -> None:
    subject = uuid.uuid4()
    token = consent_api.issuer.mint(str(subject), ttl=-120)
    response = await consent_api.client.get(
        f"/v1/subjects/{subject}/consents", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_tokens_not_meant_for_this_api_are_refused(consent_api) -> None:
    subject = str(uuid.uuid4())
    issuer = consent_api.issuer
    for token in (
        issuer.mint(subject, audience="billing"),
        issuer.mint(subject, issuer="http://127.0.0.1:1"),
        issuer.mint(subject, typ="JWT"),  # an ID token
    ):
        response = await consent_api.client.get(
            f"/v1/subjects/{subject}/consents", headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_gpc_opts_out_of_sale_and_share_once_and_absence_is_not_an_opt_in(
    consent_api,
) -> None:
    subject = uuid.uuid4()
    headers = consent_api.customer(subject)
    client = consent_api.client
    await client.post(
        f"/v1/subjects/{subject}/consents/partner-sharing/grant", json={}, headers=headers
    )
    without = await client.get(f"/v1/subjects/{subject}/consents", headers=headers)
    assert without.json()["consents"][0]["status"] == "granted"

    with_gpc = await client.get(
        f"/v1/subjects/{subject}/consents", headers=headers | {"sec-gpc": "1"}
    )
    sharing = [c for c in with_gpc.json()["consents"] if c["purpose"] == "partner-sharing"]
    assert [(c["status"], c["collected_via"]) for c in sharing] == [("withdrawn", "gpc")]
    await client.get(f"/v1/subjects/{subject}/consents", headers=headers | {"sec-gpc": "1"})
    assert await consent_api.history_count() == 2  # the second signal changed nothing

    conflict = await client.post(
        f"/v1/subjects/{subject}/consents/partner-sharing/grant",
        json={},
        headers=headers | {"sec-gpc": "1"},
    )
    assert conflict.status_code == 409
    assert conflict.json()["type"].endswith("/gpc-conflict")


async def test_a_tampered_history_entry_breaks_the_chain(consent_api) -> None:
    subject = uuid.uuid4()
    headers = consent_api.customer(subject)
    for action in ("grant", "withdraw", "grant"):
        await consent_api.client.post(
            f"/v1/subjects/{subject}/consents/analytics/{action}", json={}, headers=headers
        )
    intact = await consent_api.client.get(f"/v1/subjects/{subject}/history", headers=headers)
    assert intact.json()["chain_valid"] is True
    assert [e["version"] for e in intact.json()["entries"]] == [1, 2, 3]

    async with consent_api.engine.begin() as connection:
        await connection.execute(
            update(HistoryEntry.__table__)
            .where(HistoryEntry.__table__.c.version == 2)
            .values(status="granted")
        )
    tampered = await consent_api.client.get(f"/v1/subjects/{subject}/history", headers=headers)
    assert tampered.json()["chain_valid"] is False
    assert tampered.json()["first_broken_version"] == 2


async def test_a_new_notice_version_requires_reconsent_of_older_grants(consent_api) -> None:
    subject = uuid.uuid4()
    headers = consent_api.customer(subject)
    client = consent_api.client
    await client.post(
        f"/v1/subjects/{subject}/consents/personalisation/grant", json={}, headers=headers
    )
    published = await client.post(
        "/v1/purposes/personalisation/versions",
        json={"notice": {"en": "Now with AI.", "pl": "Teraz z AI."}, "requires_reconsent": True},
        headers=consent_api.admin(),
    )
    assert published.status_code == 201, published.text
    assert published.json()["min_valid_version"] == 2
    current = await client.get(f"/v1/subjects/{subject}/consents", headers=headers)
    assert current.json()["consents"][0]["status"] == "needs_reconsent"
    assert "dev.ciam.consent.reconsent-required.v1" in await consent_api.outbox_types()

    too_old = await client.post(
        f"/v1/subjects/{subject}/consents/personalisation/grant",
        json={"purpose_version": 1},
        headers=headers,
    )
    assert too_old.status_code == 409
    assert too_old.json()["type"].endswith("/purpose-version-too-old")
    fresh = await client.post(
        f"/v1/subjects/{subject}/consents/personalisation/grant", json={}, headers=headers
    )
    assert fresh.status_code == 200


async def test_a_grant_expires_on_time(consent_api) -> None:
    subject = uuid.uuid4()
    headers = consent_api.customer(subject)
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await consent_api.client.post(
        f"/v1/subjects/{subject}/consents/analytics/grant",
        json={"expires_at": soon},
        headers=headers,
    )

    async def expiry_recorded() -> bool:  # the sweep's change, not only the read's view
        return "dev.ciam.consent.expired.v1" in await consent_api.outbox_types()

    await eventually(expiry_recorded, timeout=15)
    current = await consent_api.client.get(f"/v1/subjects/{subject}/consents", headers=headers)
    assert current.json()["consents"][0]["status"] == "expired"


async def test_an_admin_adds_a_purpose_and_bad_purposes_are_refused(consent_api) -> None:
    client, admin = consent_api.client, consent_api.admin()
    spec = {
        "id": "loyalty-profiling",
        "names": {"en": "Loyalty", "pl": "Lojalność"},
        "descriptions": {"en": "Points.", "pl": "Punkty."},
        "legal_basis": "dpv:Consent",
        "data_categories": ["behavioural"],
        "channels": ["app"],
        "notice": {"en": "We count points.", "pl": "Liczymy punkty."},
    }
    assert (await client.post("/v1/purposes", json=spec, headers=admin)).status_code == 201
    again = await client.post("/v1/purposes", json=spec, headers=admin)
    assert again.status_code == 409
    bad = await client.post(
        "/v1/purposes", json=spec | {"id": "x2", "legal_basis": "vibes"}, headers=admin
    )
    assert bad.status_code == 422
    missing_pl = await client.post(
        "/v1/purposes", json=spec | {"id": "x3", "names": {"en": "only english"}}, headers=admin
    )
    assert missing_pl.status_code == 422
