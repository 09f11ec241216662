"""Brand apps are held to their registration at the auth service (the compacted apps topic):
an unknown or deleted app is refused, an app records and reads only the purposes it declared;
customers and admins are unaffected."""

from __future__ import annotations

import uuid

import httpx

from ciam_consent.auth import READ, WRITE


def _slug(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return str(response.json()["type"].rsplit("/", 1)[-1])


async def test_an_app_records_a_declared_purpose_and_is_refused_an_undeclared_one(
    consent_api,
) -> None:
    await consent_api.declare("news-app", ["email-marketing"], name="Daily News")
    subject, news = uuid.uuid4(), consent_api.app("news-app")
    base = f"/v1/subjects/{subject}/consents"
    granted = await consent_api.client.post(f"{base}/email-marketing/grant", json={}, headers=news)
    assert granted.status_code == 200, granted.text

    refused = await consent_api.client.post(f"{base}/analytics/grant", json={}, headers=news)
    assert refused.status_code == 403
    assert _slug(refused) == "purpose-not-declared"
    assert refused.json()["purpose"] == "analytics"
    assert await consent_api.history_count() == 1

    history = await consent_api.client.get(f"/v1/subjects/{subject}/history", headers=news)
    entry = history.json()["entries"][0]
    assert entry["source"]["app"] == "news-app"
    assert entry["source_app_name"] == "Daily News"


async def test_a_batch_with_one_undeclared_purpose_writes_nothing_and_names_the_item(
    consent_api,
) -> None:
    await consent_api.declare("news-app", ["email-marketing", "sms-marketing"])
    before = await consent_api.history_count()
    response = await consent_api.client.post(
        f"/v1/subjects/{uuid.uuid4()}/consents",
        json={
            "changes": [
                {"purpose": "email-marketing", "status": "granted"},
                {"purpose": "sms-marketing", "status": "granted"},
                {"purpose": "personalisation", "status": "granted"},
            ]
        },
        headers=consent_api.app("news-app"),
    )
    assert response.status_code == 403
    assert _slug(response) == "purpose-not-declared"
    assert response.json()["item"] == 2
    assert response.json()["purpose"] == "personalisation"
    assert await consent_api.history_count() == before
    assert await consent_api.outbox_types() == []


async def test_an_app_no_one_registered_is_refused_even_with_a_valid_token(consent_api) -> None:
    stranger = consent_api.app("never-registered")
    subject = uuid.uuid4()
    for method, path in (
        ("POST", f"/v1/subjects/{subject}/consents/email-marketing/grant"),
        ("GET", f"/v1/subjects/{subject}/consents"),
        ("GET", f"/v1/subjects/{subject}/history"),
    ):
        response = await consent_api.client.request(method, path, json={}, headers=stranger)
        assert response.status_code == 403, (path, response.text)
        assert _slug(response) == "app-unknown"
    assert await consent_api.history_count() == 0


async def test_a_deleted_apps_unexpired_token_is_refused(consent_api) -> None:
    await consent_api.declare("old-app", ["analytics"])
    token = consent_api.app("old-app")
    url = f"/v1/subjects/{uuid.uuid4()}/consents/analytics/grant"
    assert (await consent_api.client.post(url, json={}, headers=token)).status_code == 200

    await consent_api.delete_app("old-app")
    refused = await consent_api.client.post(url, json={}, headers=token)
    assert refused.status_code == 403
    assert _slug(refused) == "app-unknown"


async def test_an_app_reads_only_the_purposes_it_declared(consent_api) -> None:
    subject = uuid.uuid4()
    me = consent_api.customer(subject)
    for purpose in ("email-marketing", "analytics"):
        response = await consent_api.client.post(
            f"/v1/subjects/{subject}/consents/{purpose}/grant", json={}, headers=me
        )
        assert response.status_code == 200, response.text
    await consent_api.declare("news-app", ["email-marketing"])
    news = consent_api.app("news-app", scopes=(READ,))
    client = consent_api.client

    mine = await client.get(f"/v1/subjects/{subject}/consents", headers=me)
    assert {c["purpose"] for c in mine.json()["consents"]} == {"email-marketing", "analytics"}
    seen = await client.get(f"/v1/subjects/{subject}/consents", headers=news)
    assert [c["purpose"] for c in seen.json()["consents"]] == ["email-marketing"]
    history = await client.get(f"/v1/subjects/{subject}/history", headers=news)
    assert [e["purpose"] for e in history.json()["entries"]] == ["email-marketing"]
    assert history.json()["chain_valid"] is True
    propagation = await client.get(f"/v1/subjects/{subject}/propagation", headers=news)
    assert [c["purpose"] for c in propagation.json()["changes"]] == ["email-marketing"]

    versions = {e["purpose"]: e["version"] for e in (await client.get(
        f"/v1/subjects/{subject}/history", headers=consent_api.admin()
    )).json()["entries"]}  # fmt: skip
    receipts = f"/v1/subjects/{subject}/receipts"
    own = await client.get(f"{receipts}/{versions['email-marketing']}", headers=news)
    assert own.status_code == 200
    other = await client.get(f"{receipts}/{versions['analytics']}", headers=news)
    assert other.status_code == 404
    assert _slug(other) == "receipt-not-found"
    assert (await client.get(f"{receipts}/{versions['analytics']}", headers=me)).status_code == 200


async def test_when_an_apps_purposes_shrink_its_next_grant_follows_the_new_declaration(
    consent_api,
) -> None:
    await consent_api.declare("news-app", ["email-marketing", "analytics"])
    news = consent_api.app("news-app", scopes=(READ, WRITE))
    url = f"/v1/subjects/{uuid.uuid4()}/consents/analytics/grant"
    assert (await consent_api.client.post(url, json={}, headers=news)).status_code == 200
    await consent_api.declare("news-app", ["email-marketing"])
    refused = await consent_api.client.post(url, json={}, headers=news)
    assert refused.status_code == 403
    assert _slug(refused) == "purpose-not-declared"
