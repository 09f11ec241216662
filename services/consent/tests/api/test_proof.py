"""The proof the service keeps: a per-subject hash chain over its history that names the first
entry that does not hold, and a signed receipt per change that anyone verifies with the
published key. Tampering is done on the service's own database, as an intruder would."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from typing import Any

import pytest
from joserfc.errors import JoseError
from sqlalchemy import delete, update

from ciam_consent.integrity import entry_hash, verify_receipt
from ciam_consent.models import HistoryEntry
from ciam_consent.service.recording import chain_fields

HISTORY = HistoryEntry.__table__


async def three_changes(api: Any, subject: uuid.UUID) -> None:
    for action in ("grant", "withdraw", "grant"):
        response = await api.client.post(
            f"/v1/subjects/{subject}/consents/analytics/{action}", json={}, headers=api.admin()
        )
        assert response.status_code == 200, response.text


async def verdict(api: Any, subject: uuid.UUID) -> tuple[bool, int | None]:
    response = await api.client.get(f"/v1/subjects/{subject}/history", headers=api.admin())
    assert response.status_code == 200, response.text
    return response.json()["chain_valid"], response.json()["first_broken_version"]


async def tamper(api: Any, subject: uuid.UUID, version: int, **values: Any) -> None:
    async with api.engine.begin() as connection:
        await connection.execute(
            update(HISTORY)
            .where(HISTORY.c.subject_id == subject, HISTORY.c.version == version)
            .values(**values)
        )


async def test_an_intact_chain_links_every_entry_to_the_one_before(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await three_changes(api, subject)
    response = await api.client.get(f"/v1/subjects/{subject}/history", headers=api.admin())
    body = response.json()
    assert (body["chain_valid"], body["first_broken_version"]) == (True, None)
    entries = body["entries"]
    assert [e["version"] for e in entries] == [1, 2, 3]
    assert entries[0]["previous_hash"] is None
    for earlier, later in itertools.pairwise(entries):
        assert later["previous_hash"] == earlier["entry_hash"]
    assert len({e["entry_hash"] for e in entries}) == 3


async def test_each_kind_of_tampering_names_the_first_entry_that_does_not_hold(
    consent_api,
) -> None:
    api = consent_api
    cases = [uuid.uuid4() for _ in range(6)]
    bystander = uuid.uuid4()
    for subject in [*cases, bystander]:
        await three_changes(api, subject)

    # A field rewritten: that entry.
    await tamper(api, cases[0], 2, status="granted")
    # The proof of how it was collected rewritten: that entry.
    await tamper(api, cases[1], 1, source={"app": "someone-else"})
    # The last entry rewritten: the last one, nothing after it to break.
    await tamper(api, cases[2], 3, purpose_version=9)
    # An entry removed: the one after the gap.
    async with api.engine.begin() as connection:
        await connection.execute(
            delete(HISTORY).where(HISTORY.c.subject_id == cases[3], HISTORY.c.version == 2)
        )
    # An entry rewritten with its hash recomputed: its own hash holds, the next link does not.
    async with api.engine.connect() as connection:
        row = (
            await connection.execute(
                HISTORY.select().where(HISTORY.c.subject_id == cases[4], HISTORY.c.version == 2)
            )
        ).one()
    rewritten = HistoryEntry(**{c.key: getattr(row, c.key) for c in HISTORY.columns})
    rewritten.status = "granted"
    await tamper(
        api,
        cases[4],
        2,
        status="granted",
        entry_hash=entry_hash(chain_fields(rewritten), rewritten.previous_hash),
    )
    # A link pointed elsewhere: that entry.
    await tamper(api, cases[5], 3, previous_hash="0" * 64)

    assert await verdict(api, cases[0]) == (False, 2)
    assert await verdict(api, cases[1]) == (False, 1)
    assert await verdict(api, cases[2]) == (False, 3)
    assert await verdict(api, cases[3]) == (False, 3)
    assert await verdict(api, cases[4]) == (False, 3)
    assert await verdict(api, cases[5]) == (False, 3)
    assert await verdict(api, bystander) == (True, None)  # one chain per subject


async def test_a_tampered_entry_still_has_its_original_signed_receipt(consent_api) -> None:
    """The receipt, signed when the change was made, keeps what really happened."""
    api, subject = consent_api, uuid.uuid4()
    await three_changes(api, subject)
    await tamper(api, subject, 2, status="granted")
    receipt = await api.client.get(f"/v1/subjects/{subject}/receipts/2", headers=api.admin())
    jwks = (await api.client.get("/v1/receipts/jwks.json")).json()
    assert verify_receipt(receipt.json()["jws"], jwks)["status"] == "withdrawn"


def _forge(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps(claims | changes).encode()).rstrip(b"=")
    return f"{header}.{forged.decode()}.{signature}"


async def test_every_receipt_verifies_with_the_published_key_and_matches_its_entry(
    consent_api,
) -> None:
    api, subject = consent_api, uuid.uuid4()
    await three_changes(api, subject)
    jwks = (await api.client.get("/v1/receipts/jwks.json")).json()
    assert [k["alg"] for k in jwks["keys"]] == ["ES256"]
    assert all("d" not in k for k in jwks["keys"])
    history = await api.client.get(f"/v1/subjects/{subject}/history", headers=api.admin())
    for entry in history.json()["entries"]:
        response = await api.client.get(
            f"/v1/subjects/{subject}/receipts/{entry['version']}", headers=api.admin()
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["jwks_url"] == "/v1/receipts/jwks.json"
        claims = verify_receipt(body["jws"], jwks)
        assert claims == body["receipt"]
        assert claims["publicKey"] == jwks["keys"][0]["kid"]
        assert claims["piiPrincipalId"] == str(subject)
        assert claims["consentReceiptID"] == claims["recordId"] == entry["event_id"]
        assert claims["statusVersion"] == entry["version"]
        assert claims["status"] == entry["status"]
        assert claims["noticeHash"] == entry["notice_hash"]
        assert claims["noticeVersion"] == entry["purpose_version"]
        assert claims["entryHash"] == entry["entry_hash"]
        assert claims["previousHash"] == entry["previous_hash"]
        assert claims["legalBasis"] == "dpv:Consent"
        assert claims["collectionMethod"] == "api"
        assert claims["services"][0]["purposes"][0]["consentType"] == "EXPLICIT"
        assert claims["services"][0]["purposes"][0]["termination"] == "until withdrawn"


async def test_a_modified_receipt_does_not_verify(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await three_changes(api, subject)
    jwks = (await api.client.get("/v1/receipts/jwks.json")).json()
    token = (
        await api.client.get(f"/v1/subjects/{subject}/receipts/2", headers=api.admin())
    ).json()["jws"]
    assert verify_receipt(token, jwks)["status"] == "withdrawn"
    for forgery in (
        {"status": "granted"},
        {"piiPrincipalId": str(uuid.uuid4())},
        {"statusVersion": 1},
    ):
        with pytest.raises(JoseError):
            verify_receipt(_forge(token, **forgery), jwks)
    header, payload, signature = token.split(".")
    other = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    with pytest.raises(JoseError):
        verify_receipt(f"{header}.{payload}.{other}", jwks)
