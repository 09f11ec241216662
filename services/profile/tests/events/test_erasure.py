"""On the account-deletion event everything about the subject goes: database rows, the
cached profile, its consents in the service's view; the service says it is done."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from ciam_devtools.testing.plugin import eventually
from ciam_profile.models import (
    Identifier,
    Merge,
    Profile,
    ProfileField,
    TrackedEvent,
    outbox,
)
from ciam_shared.events import ConsentStatus
from ciam_shared.topics import CONSENT_PURPOSES, CONSENT_STATE, PROFILE_EVENTS


async def test_erasure_leaves_nothing_behind(profile_api, read_topic) -> None:
    api = profile_api
    shop = api.app("shop-web")
    await api.declare("shop-web", ["personalisation"])
    customer, bystander = await api.register(), await api.register()
    me = api.customer(customer)
    for subject in (customer, bystander):
        await api.client.patch(
            f"/v1/profiles/{subject}",
            json={"fields": {"name": "Ada", "interests": ["maths"]}},
            headers=api.customer(subject),
        )
    device = await api.client.post(
        "/v1/anonymous", json={"identifiers": [{"kind": "cookie", "value": "c-1"}]}, headers=shop
    )
    anonymous = uuid.UUID(device.json()["subject_id"])
    await api.consents(customer, analytics=ConsentStatus.GRANTED)
    linked = await api.client.post(
        f"/v1/profiles/{customer}/identifiers",
        json={"kind": "cookie", "value": "c-1"},
        headers=shop,
    )
    assert linked.json()["merge_id"]
    await api.client.post(
        f"/v1/profiles/{customer}/identifiers",
        json={"kind": "email", "value": "ada@example.com"},
        headers=me,
    )
    event = {
        "type": "purchase",
        "channel": "web",
        "anonymous_id": "c-1",
        "occurred_at": datetime.now(UTC).isoformat(),
        "properties": {"sku": "A-1"},
    }

    async def tracked() -> bool:
        r = await api.client.post("/v1/events", json={"events": [event]}, headers=shop)
        return bool(r.json()["stored"])

    await eventually(tracked)
    assert api.parts.gate.view.consents(customer) is not None
    for subject in (customer, anonymous):  # both cached
        assert (
            await api.client.get(f"/v1/profiles/{subject}", headers=api.admin())
        ).status_code == 200
    export = await api.client.get(f"/v1/profiles/{customer}/export", headers=me)
    assert export.status_code == 200
    document = export.json()
    assert {p["subject_id"] for p in document["profiles"]} == {str(customer), str(anonymous)}
    assert len(document["tracked_events"]) == 1 and len(document["merges"]) == 1
    cache_keys = await api.redis.keys(f"{api.prefix}*")
    assert cache_keys

    await api.erase(customer)

    async def erased() -> bool:
        r = await api.client.get(f"/v1/profiles/{customer}", headers=api.admin())
        return r.status_code == 404 and api.parts.gate.view.consents(customer) is None

    await eventually(erased)
    gone = [customer, anonymous]
    for table in (Profile, ProfileField, Identifier, TrackedEvent):
        for subject in gone:
            assert await api.count(table.__table__, subject_id=subject) == 0, table
    assert await api.count(Merge.__table__) == 0
    async with api.engine.connect() as connection:
        keys = {r.key for r in await connection.execute(select(outbox.c.key, outbox.c.event_type))}
        erased_rows = (
            await connection.execute(
                select(outbox.c.payload).where(outbox.c.event_type == "dev.ciam.profile.erased.v1")
            )
        ).all()
    assert str(anonymous) not in keys
    assert len(erased_rows) == 1  # the only row left about the subject says it is done
    assert set(json.loads(erased_rows[0].payload)["erased_subject_ids"]) == {str(s) for s in gone}
    await api.parts.cache.drain()
    assert not [k for k in await api.redis.keys(f"{api.prefix}*") if str(customer).encode() in k]
    assert not [k for k in await api.redis.keys(f"{api.prefix}*") if str(anonymous).encode() in k]
    assert (
        await api.client.get(f"/v1/profiles/{anonymous}", headers=api.admin())
    ).status_code == 404
    # The compacted topics: the subject's consent state ends in a tombstone; the profile
    # service publishes to none, and its event log keeps only ids.
    assert (await read_topic(api.kafka, CONSENT_STATE, api.prefix, str(customer)))[-1] is None
    assert await read_topic(api.kafka, CONSENT_PURPOSES, api.prefix, str(customer)) == []
    assert (await api.client.get(f"/v1/profiles/{bystander}", headers=api.admin())).json()["fields"]

    async def erased_published() -> bool:
        values = await read_topic(api.kafka, PROFILE_EVENTS, api.prefix, str(customer))
        return any(v and b"erased_subject_ids" in v for v in values)

    await eventually(erased_published)
