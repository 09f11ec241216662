"""`/privacy/history`: every change in order with its signed receipt (a readable page and the
JWS to download, verified with the consent service's published key) and the hash chain's
verdict; another customer's receipt is never shown."""

from __future__ import annotations

import html
import re
import uuid

import httpx
from joserfc import jws
from joserfc.jwk import KeySet
from sqlalchemy import text

from ciam_shared.db import create_engine
from ciam_shared.tokens.scopes import MY_CONSENTS_READ

from .conftest import Privacy


async def three_changes(privacy: Privacy, account: uuid.UUID) -> None:
    for change in (
        {"purpose": "analytics", "status": "granted"},
        {"purpose": "personalisation", "status": "granted", "channel": "web"},
        {"purpose": "analytics", "status": "withdrawn"},
    ):
        await privacy.record_at_consent_service(account, [change])


async def test_the_history_lists_every_change_in_order_with_its_receipts(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in()
    await three_changes(privacy, account)
    page = await privacy.http.get("/privacy/history", headers={"accept-language": "en"})
    assert page.status_code == 200, page.text
    shown = html.unescape(page.text)
    assert re.findall(r'<tr data-version="(\d+)">', shown) == ["1", "2", "3"]
    assert 'data-chain="intact"' in shown and "the 3 changes are linked" in shown
    assert "Analytics" in shown and "Consent withdrawn" in shown
    for version in (1, 2, 3):
        assert f'href="/privacy/receipts/{version}.jws"' in shown
    polish = html.unescape(
        (await privacy.http.get("/privacy/history", headers={"accept-language": "pl"})).text
    )
    assert "Historia zgód" in polish and "Zapis jest kompletny" in polish

    # The JWS verifies with the consent service's published key, and says what happened.
    download = await privacy.http.get("/privacy/receipts/3.jws")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/jose"
    assert "attachment" in download.headers["content-disposition"]
    async with httpx.AsyncClient(base_url=privacy.consent_url) as consent:
        keys = KeySet.import_key_set((await consent.get("/v1/receipts/jwks.json")).json())
    claims = jws.deserialize_compact(download.text, keys, algorithms=["ES256"])
    assert b'"status":"withdrawn"' in claims.payload.replace(b" ", b"")
    assert str(account).encode() in claims.payload

    readable = await privacy.http.get("/privacy/receipts/2", headers={"accept-language": "en"})
    assert readable.status_code == 200
    shown = html.unescape(readable.text)
    assert 'data-signature="valid"' in shown
    assert "Personalisation" in shown and "Consent given" in shown
    assert re.search(
        r"<dd><time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>", shown
    )


async def test_a_broken_chain_is_reported_with_the_first_change_that_does_not_hold(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in()
    await three_changes(privacy, account)
    engine = create_engine(privacy.consent_database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE consent_history SET status = 'granted' "
                "WHERE subject_id = :id AND version = 3"
            ),
            {"id": account},
        )
    await engine.dispose()
    page = await privacy.http.get("/privacy/history", headers={"accept-language": "en"})
    shown = html.unescape(page.text)
    assert 'data-chain="broken"' in shown and "from change 3 on" in shown


async def test_another_customers_receipt_is_never_shown(privacy: Privacy) -> None:
    alice = await privacy.sign_in()
    await three_changes(privacy, alice)
    await privacy.sign_in()  # Bob, in the same browser, with no change of his own
    for path in ("/privacy/receipts/1", "/privacy/receipts/1.jws"):
        response = await privacy.http.get(path, headers={"accept-language": "en"})
        assert response.status_code == 404, path
        assert "There is no such receipt" in response.text
        assert str(alice) not in response.text
    # Nor through the consent API with Bob's token of the page asking for Alice's subject.
    bob = uuid.uuid4()
    async with httpx.AsyncClient(base_url=privacy.consent_url) as consent:
        answer = await consent.get(
            f"/v1/subjects/{alice}/receipts/1",
            headers={"authorization": f"Bearer {privacy.token(bob, MY_CONSENTS_READ)}"},
        )
    assert answer.status_code == 403
    # A version out of range is a 422, not a call.
    assert (await privacy.http.get("/privacy/receipts/0")).status_code == 422


async def test_the_history_is_for_signed_in_customers(privacy: Privacy) -> None:
    for path in ("/privacy/history", "/privacy/receipts/1", "/privacy/receipts/1.jws"):
        answer = await privacy.http.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?return_to=/privacy/history"
