"""A notice version published with `requires_reconsent` becomes the minimum valid version: every
grant of an older version moves to needs_reconsent, recorded, chained and published like any
change; refusals and grants of the new version stay as they are."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from ciam_consent.models import outbox
from ciam_shared.events import ConsentReconsentRequired, ConsentState, PurposeDefined

RECONSENT = "dev.ciam.consent.reconsent-required.v1"


async def change(api: Any, subject: uuid.UUID, *items: dict[str, Any]) -> None:
    response = await api.client.post(
        f"/v1/subjects/{subject}/consents", json={"changes": list(items)}, headers=api.admin()
    )
    assert response.status_code == 200, response.text


async def publish(api: Any, purpose: str, *, requires_reconsent: bool) -> dict[str, Any]:
    response = await api.client.post(
        f"/v1/purposes/{purpose}/versions",
        json={"notice": {"en": "New.", "pl": "Nowe."}, "requires_reconsent": requires_reconsent},
        headers=api.admin(),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def statuses(api: Any, subject: uuid.UUID) -> dict[tuple[Any, ...], tuple[str, int]]:
    response = await api.client.get(f"/v1/subjects/{subject}/consents", headers=api.admin())
    return {
        (c["purpose"], c["brand"], c["channel"]): (c["status"], c["purpose_version"])
        for c in response.json()["consents"]
    }


async def test_older_grants_need_reconsent_and_each_move_is_staged(consent_api) -> None:
    api = consent_api
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await change(
        api,
        alice,
        {"purpose": "personalisation", "status": "granted"},
        {"purpose": "personalisation", "status": "granted", "brand": "shop", "channel": "app"},
        {"purpose": "analytics", "status": "granted"},
    )
    await change(api, bob, {"purpose": "personalisation", "status": "denied"})
    await change(api, carol, {"purpose": "personalisation", "status": "granted"})
    await change(api, carol, {"purpose": "personalisation", "status": "withdrawn"})
    async with api.engine.connect() as connection:
        seq = int(await connection.scalar(select(outbox.c.seq).order_by(outbox.c.seq.desc())))

    published = await publish(api, "personalisation", requires_reconsent=True)
    assert (published["current_version"], published["min_valid_version"]) == (2, 2)

    assert await statuses(api, alice) == {
        ("personalisation", None, None): ("needs_reconsent", 1),
        ("personalisation", "shop", "app"): ("needs_reconsent", 1),
        ("analytics", None, None): ("granted", 1),  # another purpose: untouched
    }
    assert await statuses(api, bob) == {("personalisation", None, None): ("denied", 1)}
    assert await statuses(api, carol) == {("personalisation", None, None): ("withdrawn", 1)}

    async with api.engine.connect() as connection:
        later = {
            r.event_id
            for r in await connection.execute(select(outbox.c.event_id).where(outbox.c.seq > seq))
        }
    new = [e for e in await api.staged() if e.id in later]
    moves = [e.data for e in new if isinstance(e.data, ConsentReconsentRequired)]
    assert [(m.subject_id, m.brand, m.channel, m.version) for m in moves] == [
        (alice, None, None, 4),
        (alice, "shop", "app", 5),
    ]
    assert all(m.collected_via == "system" and m.purpose_version == 1 for m in moves)
    states = [e.data for e in new if isinstance(e.data, ConsentState)]
    assert [(s.subject_id, s.version) for s in states] == [(alice, 5)]  # one per moved subject
    defined = [e.data for e in new if isinstance(e.data, PurposeDefined)]
    assert [(d.purpose_id, d.min_valid_version) for d in defined] == [("personalisation", 2)]

    history = await api.client.get(f"/v1/subjects/{alice}/history", headers=api.admin())
    assert history.json()["chain_valid"] is True
    assert [e["status"] for e in history.json()["entries"]][-2:] == ["needs_reconsent"] * 2

    await change(api, alice, {"purpose": "personalisation", "status": "granted"})
    assert (await statuses(api, alice))[("personalisation", None, None)] == ("granted", 2)


async def test_a_version_without_reconsent_keeps_older_grants_valid(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await change(api, subject, {"purpose": "personalisation", "status": "granted"})
    published = await publish(api, "personalisation", requires_reconsent=False)
    assert (published["current_version"], published["min_valid_version"]) == (2, 1)
    assert await statuses(api, subject) == {("personalisation", None, None): ("granted", 1)}
    assert RECONSENT not in await api.outbox_types()


async def test_a_second_reconsent_moves_only_what_is_granted_below_it(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await change(api, subject, {"purpose": "personalisation", "status": "granted"})
    await publish(api, "personalisation", requires_reconsent=True)
    await change(
        api, subject, {"purpose": "personalisation", "status": "granted", "brand": "shop"}
    )  # of version 2
    await publish(api, "personalisation", requires_reconsent=True)
    assert await statuses(api, subject) == {
        ("personalisation", None, None): ("needs_reconsent", 1),  # not moved twice
        ("personalisation", "shop", None): ("needs_reconsent", 2),
    }
    assert (await api.outbox_types()).count(RECONSENT) == 2
