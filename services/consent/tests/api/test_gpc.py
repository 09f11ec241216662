"""Global Privacy Control: `Sec-GPC: 1` on any subject request records, once, a withdrawal
(collected via `gpc`) of every sale/share purpose; other purposes are untouched; a grant of a
sale/share purpose in such a request is refused (test_refusals.py); only "1" is a signal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ciam_consent.models import outbox
from ciam_consent_sdk import ConsentState, is_allowed
from ciam_consent_sdk.models import parse_state

GPC = {"sec-gpc": "1"}
STATE = "dev.ciam.consent.state.v1"


async def consents(api: Any, subject: uuid.UUID, **headers: str) -> dict[tuple[Any, ...], Any]:
    response = await api.client.get(
        f"/v1/subjects/{subject}/consents", headers=api.admin() | headers
    )
    assert response.status_code == 200, response.text
    return {(c["purpose"], c["brand"], c["channel"]): c for c in response.json()["consents"]}


async def grant(api: Any, subject: uuid.UUID, *items: dict[str, Any]) -> None:
    response = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={"changes": [{"status": "granted", **item} for item in items]},
        headers=api.admin(),
    )
    assert response.status_code == 200, response.text


async def latest_state(api: Any, subject: uuid.UUID) -> ConsentState:
    async with api.engine.connect() as connection:
        payload = await connection.scalar(
            select(outbox.c.payload)
            .where(outbox.c.event_type == STATE, outbox.c.key == str(subject))
            .order_by(outbox.c.seq.desc())
            .limit(1)
        )
    return parse_state(payload)


async def test_gpc_withdraws_sale_and_share_and_leaves_other_purposes(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await grant(api, subject, {"purpose": "partner-sharing"}, {"purpose": "email-marketing"})
    staged = len(await api.outbox_types())

    after = await consents(api, subject, **GPC)
    sharing = after[("partner-sharing", None, None)]
    assert (sharing["status"], sharing["collected_via"], sharing["version"]) == (
        "withdrawn",
        "gpc",
        3,
    )
    assert after[("email-marketing", None, None)]["status"] == "granted"
    assert (await api.outbox_types())[staged:] == ["dev.ciam.consent.withdrawn.v1", STATE]

    receipt = await api.client.get(f"/v1/subjects/{subject}/receipts/3", headers=api.admin())
    claims = receipt.json()["receipt"]
    assert claims["collectionMethod"] == "gpc"
    assert claims["services"][0]["purposes"][0]["consentType"] == "IMPLICIT"
    assert claims["services"][0]["purposes"][0]["thirdPartyDisclosure"] is True


async def test_the_signal_is_recorded_once_and_other_values_are_no_signal(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await grant(api, subject, {"purpose": "partner-sharing"})
    for value in ("0", "true", "", "yes"):
        assert (await consents(api, subject, **{"sec-gpc": value}))[
            ("partner-sharing", None, None)
        ]["status"] == "granted"
    await consents(api, subject, **GPC)
    await consents(api, subject, **GPC)
    assert await api.history_count() == 2


async def test_gpc_on_a_change_request_opts_out_in_the_same_change(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await grant(api, subject, {"purpose": "partner-sharing"})
    response = await api.client.post(
        f"/v1/subjects/{subject}/consents/email-marketing/grant",
        json={},
        headers=api.admin() | GPC,
    )
    assert response.status_code == 200, response.text
    changes = [(c["purpose"], c["status"], c["version"]) for c in response.json()["changes"]]
    assert changes == [("partner-sharing", "withdrawn", 2), ("email-marketing", "granted", 3)]
    assert (await api.outbox_types()).count(STATE) == 2  # one per request


async def test_gpc_records_an_opt_out_for_a_subject_with_no_choice_yet(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    after = await consents(api, subject, **GPC)
    assert [(k, c["status"], c["collected_via"]) for k, c in after.items()] == [
        (("partner-sharing", None, None), "withdrawn", "gpc")
    ]


async def test_an_existing_opt_out_is_not_recorded_again(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    denied = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={"changes": [{"purpose": "partner-sharing", "status": "denied"}]},
        headers=api.admin(),
    )
    assert denied.status_code == 200
    after = await consents(api, subject, **GPC)
    assert after[("partner-sharing", None, None)]["status"] == "denied"
    assert await api.history_count() == 1


async def test_gpc_overrides_a_narrower_grant_by_being_newer(consent_api) -> None:
    """A brand's grant stays on record, but the newer GPC withdrawal for every brand decides
    (the SDK's rule: the latest applicable change wins)."""
    api, subject = consent_api, uuid.uuid4()
    now = datetime.now(UTC)
    await grant(api, subject, {"purpose": "partner-sharing", "brand": "shop"})
    assert is_allowed(await latest_state(api, subject), "partner-sharing", at=now, brand="shop")

    after = await consents(api, subject, **GPC)
    assert after[("partner-sharing", "shop", None)]["status"] == "granted"
    assert after[("partner-sharing", None, None)]["status"] == "withdrawn"
    state = await latest_state(api, subject)
    assert not is_allowed(state, "partner-sharing", at=now, brand="shop")
    assert not is_allowed(state, "partner-sharing", at=now, brand="cinema")
    assert await api.history_count() == 2


async def test_a_brand_grant_after_gpc_is_the_customers_newer_choice(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    now = datetime.now(UTC)
    await grant(api, subject, {"purpose": "partner-sharing", "brand": "shop"})
    await consents(api, subject, **GPC)
    again = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={"changes": [{"purpose": "partner-sharing", "status": "granted", "brand": "shop"}]},
        headers=api.admin(),
    )
    assert again.status_code == 200, again.text
    assert is_allowed(await latest_state(api, subject), "partner-sharing", at=now, brand="shop")
