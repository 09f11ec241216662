"""A customer's token reaches that customer only, and only as far as its customer scopes, the
purposes of the app holding it and that app's brand go (docs/security.md)."""

from __future__ import annotations

import uuid

import httpx

from ciam_shared.tokens.scopes import (
    AUTH_ADMIN,
    CONSENT_ADMIN,
    CONSENT_READ,
    CONSENT_WRITE,
    MY_CONSENTS_READ,
    MY_CONSENTS_WRITE,
    PROFILE_ADMIN,
)

ADMIN_LIKE = (CONSENT_ADMIN, PROFILE_ADMIN, AUTH_ADMIN, CONSENT_READ, CONSENT_WRITE)
BOTH = (MY_CONSENTS_READ, MY_CONSENTS_WRITE)


def _slug(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return str(response.json()["type"].rsplit("/", 1)[-1])


async def _grant(consent_api, subject: uuid.UUID, purpose: str, **body: object) -> None:
    response = await consent_api.client.post(
        f"/v1/subjects/{subject}/consents/{purpose}/grant",
        json=body,
        headers=consent_api.customer(subject),
    )
    assert response.status_code == 200, response.text


async def test_a_customer_token_of_an_app_with_admin_scopes_reaches_no_one_else(
    consent_api,
) -> None:
    """The reviewed hole: an app registered with admin scopes got a customer's token through
    the code grant, and with it withdrew another customer's consent."""
    await consent_api.declare("rogue-app", ["email-marketing"])
    alice, bob = uuid.uuid4(), uuid.uuid4()
    await _grant(consent_api, bob, "email-marketing", brand="acme")
    before = await consent_api.history_count()
    alices = consent_api.through("rogue-app", alice, (*ADMIN_LIKE, *BOTH))
    client, base = consent_api.client, f"/v1/subjects/{bob}"

    withdraw = await client.post(
        f"{base}/consents/email-marketing/withdraw", json={"brand": "acme"}, headers=alices
    )
    assert withdraw.status_code == 403, withdraw.text
    for path in ("/consents", "/history", "/propagation"):
        read = await client.get(base + path, headers=alices)
        assert read.status_code == 403, (path, read.text)
    catalogue = await client.post(
        "/v1/purposes/analytics/versions",
        json={"notice": {"en": "x", "pl": "y"}},
        headers=alices,
    )
    assert catalogue.status_code == 403
    assert await consent_api.history_count() == before


async def test_a_third_party_token_with_only_openid_neither_reads_nor_changes(
    consent_api,
) -> None:
    await consent_api.declare("quiz", ["email-marketing", "analytics"])
    subject = uuid.uuid4()
    await _grant(consent_api, subject, "analytics", brand="acme")
    before = await consent_api.history_count()
    quiz = consent_api.through("quiz", subject, ("openid",))
    client, base = consent_api.client, f"/v1/subjects/{subject}"

    for path in ("/consents", "/history", "/propagation", "/receipts/1"):
        read = await client.get(base + path, headers=quiz)
        assert read.status_code == 403, (path, read.text)
        assert _slug(read) == "insufficient-scope"
        assert read.json()["scope"] == MY_CONSENTS_READ
        assert 'error="insufficient_scope"' in read.headers["www-authenticate"]
    changes = (
        (f"{base}/consents/analytics/withdraw", {}),
        (f"{base}/consents/email-marketing/grant", {}),
        (f"{base}/consents", {"changes": [{"purpose": "analytics", "status": "withdrawn"}]}),
    )
    for url, body in changes:
        change = await client.post(url, json=body, headers=quiz)
        assert change.status_code == 403, (url, change.text)
        assert change.json()["scope"] == MY_CONSENTS_WRITE
    assert await consent_api.history_count() == before


async def test_a_third_party_app_changes_only_its_declared_purposes_within_its_brand(
    consent_api,
) -> None:
    await consent_api.declare("quiz", ["email-marketing"], brand="acme")
    subject = uuid.uuid4()
    quiz = consent_api.through("quiz", subject, BOTH)
    client, base = consent_api.client, f"/v1/subjects/{subject}/consents"

    undeclared = await client.post(f"{base}/analytics/grant", json={}, headers=quiz)
    assert undeclared.status_code == 403
    assert _slug(undeclared) == "purpose-not-declared"
    for brand in ("cinema", None):  # another brand; every brand at once
        refused = await client.post(
            f"{base}/email-marketing/grant", json={"brand": brand}, headers=quiz
        )
        assert refused.status_code == 403, refused.text
        assert _slug(refused) == "brand-not-allowed"
    batch = await client.post(
        base,
        json={
            "changes": [
                {"purpose": "email-marketing", "status": "granted", "brand": "acme"},
                {"purpose": "email-marketing", "status": "granted", "brand": None},
            ]
        },
        headers=quiz,
    )
    assert batch.status_code == 403
    assert (_slug(batch), batch.json()["item"], batch.json()["brand"]) == (
        "brand-not-allowed",
        1,
        None,
    )
    assert await consent_api.history_count() == 0

    omitted = await client.post(f"{base}/email-marketing/grant", json={}, headers=quiz)
    assert omitted.status_code == 200, omitted.text
    assert omitted.json()["changes"][0]["brand"] == "acme"
    named = await client.post(
        f"{base}/email-marketing/withdraw", json={"brand": "acme"}, headers=quiz
    )
    assert named.status_code == 200, named.text
    history = await client.get(
        f"/v1/subjects/{subject}/history", headers=consent_api.customer(subject)
    )
    assert [e["brand"] for e in history.json()["entries"]] == ["acme", "acme"]


async def test_a_third_party_app_of_no_brand_changes_no_customers_consents(consent_api) -> None:
    await consent_api.declare("platform-quiz", ["email-marketing"], brand=None)
    subject = uuid.uuid4()
    quiz = consent_api.through("platform-quiz", subject, BOTH)
    response = await consent_api.client.post(
        f"/v1/subjects/{subject}/consents/email-marketing/grant", json={}, headers=quiz
    )
    assert response.status_code == 403
    assert _slug(response) == "brand-not-allowed"
    assert await consent_api.history_count() == 0


async def test_a_third_party_app_reads_only_its_declared_purposes_of_its_customer(
    consent_api,
) -> None:
    await consent_api.declare("quiz", ["email-marketing"])
    subject = uuid.uuid4()
    for purpose in ("email-marketing", "analytics"):
        await _grant(consent_api, subject, purpose)
    quiz = consent_api.through("quiz", subject, (MY_CONSENTS_READ,))
    client, base = consent_api.client, f"/v1/subjects/{subject}"

    seen = await client.get(f"{base}/consents", headers=quiz)
    assert [c["purpose"] for c in seen.json()["consents"]] == ["email-marketing"]
    history = await client.get(f"{base}/history", headers=quiz)
    assert [e["purpose"] for e in history.json()["entries"]] == ["email-marketing"]
    propagation = await client.get(f"{base}/propagation", headers=quiz)
    assert [c["purpose"] for c in propagation.json()["changes"]] == ["email-marketing"]
    analytics = next(
        e["version"]
        for e in (
            await client.get(f"{base}/history", headers=consent_api.customer(subject))
        ).json()["entries"]
        if e["purpose"] == "analytics"
    )
    hidden = await client.get(f"{base}/receipts/{analytics}", headers=quiz)
    assert hidden.status_code == 404
    mine = await client.get(f"{base}/consents", headers=consent_api.customer(subject))
    assert {c["purpose"] for c in mine.json()["consents"]} == {"email-marketing", "analytics"}


async def test_auths_own_pages_are_still_held_to_the_scopes_their_token_carries(
    consent_api,
) -> None:
    subject = uuid.uuid4()
    await _grant(consent_api, subject, "email-marketing")
    read_only = consent_api._bearer(
        consent_api.issuer.customer_token(str(subject), scopes=(MY_CONSENTS_READ,))
    )
    url = f"/v1/subjects/{subject}/consents"
    assert (await consent_api.client.get(url, headers=read_only)).status_code == 200
    refused = await consent_api.client.post(
        f"{url}/analytics/grant", json={"brand": None}, headers=read_only
    )
    assert refused.status_code == 403
    assert refused.json()["scope"] == MY_CONSENTS_WRITE


async def test_a_customer_token_of_a_deleted_app_is_refused(consent_api) -> None:
    await consent_api.declare("old-quiz", ["analytics"])
    subject = uuid.uuid4()
    quiz = consent_api.through("old-quiz", subject, BOTH)
    url = f"/v1/subjects/{subject}/consents"
    granted = await consent_api.client.post(f"{url}/analytics/grant", json={}, headers=quiz)
    assert granted.status_code == 200, granted.text

    await consent_api.delete_app("old-quiz")
    for method, path in (("GET", url), ("POST", f"{url}/analytics/withdraw")):
        refused = await consent_api.client.request(method, path, json={}, headers=quiz)
        assert refused.status_code == 403, refused.text
        assert _slug(refused) == "app-unknown"
    assert await consent_api.history_count() == 1
