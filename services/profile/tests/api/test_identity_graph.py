"""The identity graph: anonymous devices stitched to their owner on sign-in, identifiers that
resolve to one customer only, merges by documented rules, and undo."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ciam_devtools.testing.plugin import eventually
from ciam_profile.models import Identifier, Merge, ProfileField
from ciam_shared.events import ConsentStatus

GRANTED, DENIED = ConsentStatus.GRANTED, ConsentStatus.DENIED


def page_view(device: str, channel: str = "web") -> dict[str, object]:
    return {
        "type": "page_view",
        "channel": channel,
        "device_id": device,
        "occurred_at": datetime.now(UTC).isoformat(),
    }


async def test_two_anonymous_devices_become_one_known_customer_on_sign_in(profile_api) -> None:
    api = profile_api
    shop = api.app("shop-web")
    phone = await api.client.post(
        "/v1/anonymous",
        json={"identifiers": [{"kind": "device", "value": "phone-1"}]},
        headers=shop,
    )
    assert phone.status_code == 201
    again = await api.client.post(
        "/v1/anonymous",
        json={"identifiers": [{"kind": "device", "value": "phone-1"}]},
        headers=shop,
    )
    assert again.status_code == 200 and again.json()["subject_id"] == phone.json()["subject_id"]
    laptop = await api.client.post(
        "/v1/anonymous",
        json={"identifiers": [{"kind": "device", "value": "laptop-1"}]},
        headers=shop,
    )
    anonymous = {
        d: uuid.UUID(r.json()["subject_id"]) for d, r in (("phone-1", phone), ("laptop-1", laptop))
    }
    for device, subject in anonymous.items():
        await api.consents(subject, analytics=GRANTED)  # the cookie banner, at the consent service

        async def stored(device: str = device) -> bool:
            r = await api.client.post(
                "/v1/events", json={"events": [page_view(device)]}, headers=shop
            )
            return bool(r.json()["stored"])

        await eventually(stored)
        second = await api.client.post(
            "/v1/events", json={"events": [page_view(device, "app")]}, headers=shop
        )
        assert second.json()["stored"] == 1

    customer = await api.register()
    me = api.customer(customer)
    await api.consents(customer, analytics=GRANTED)
    claimed = await api.client.post(
        f"/v1/profiles/{customer}/identifiers",
        json={"kind": "device", "value": "phone-1"},
        headers=me,
    )
    assert claimed.status_code == 403  # a device is linked by the app that saw the sign-in
    merges = []
    for device in anonymous:
        linked = await api.client.post(
            f"/v1/profiles/{customer}/identifiers",
            json={"kind": "device", "value": device},
            headers=shop,
        )
        assert linked.status_code == 200, linked.text
        merges.append(linked.json()["merge_id"])
    assert all(merges)

    profile = (await api.client.get(f"/v1/profiles/{customer}", headers=me)).json()
    assert set(profile["merged_subject_ids"]) == {str(s) for s in anonymous.values()}
    assert profile["fields"]["visits"]["value"] == 4
    assert profile["fields"]["last_seen_channel"]["value"] == "app"
    via_device = await api.client.get(f"/v1/profiles/{anonymous['phone-1']}", headers=api.admin())
    assert via_device.json()["subject_id"] == str(customer)

    # After sign-in the device tracks into the known profile, and the cached read follows.
    await eventually(lambda: _tracks(api, shop, "phone-1"))
    profile = (await api.client.get(f"/v1/profiles/{customer}", headers=me)).json()
    assert profile["fields"]["visits"]["value"] == 5
    types = await api.outbox_types()
    assert types.count("dev.ciam.profile.merged.v1") == 2
    assert await api.count(Merge.__table__, reason="sign-in") == 2


async def _tracks(api, headers, device: str) -> bool:
    r = await api.client.post("/v1/events", json={"events": [page_view(device)]}, headers=headers)
    return bool(r.json()["stored"])


async def test_an_identifier_of_another_customer_is_refused_and_nothing_is_written(
    profile_api,
) -> None:
    api = profile_api
    ada, eve = await api.register(), await api.register()
    email = {"kind": "email", "value": "Ada@Example.com"}
    first = await api.client.post(
        f"/v1/profiles/{ada}/identifiers", json=email, headers=api.customer(ada)
    )
    assert first.status_code == 200 and first.json()["merge_id"] is None
    identifiers, merges = await api.count(Identifier.__table__), await api.count(Merge.__table__)
    outbox = await api.outbox_types()
    claimed = await api.client.post(
        f"/v1/profiles/{eve}/identifiers",
        json={"kind": "email", "value": "ada@example.com"},
        headers=api.customer(eve),
    )
    assert claimed.status_code == 409
    assert claimed.json()["type"].endswith("/identifier-claimed")
    bad = await api.client.post(
        f"/v1/profiles/{eve}/identifiers",
        json={"kind": "phone", "value": "12345"},
        headers=api.customer(eve),
    )
    assert bad.status_code == 422
    unknown_kind = await api.client.post(
        f"/v1/profiles/{eve}/identifiers",
        json={"kind": "passport", "value": "X1"},
        headers=api.customer(eve),
    )
    assert unknown_kind.status_code == 422
    assert await api.count(Identifier.__table__) == identifiers
    assert await api.count(Merge.__table__) == merges
    assert await api.outbox_types() == outbox


async def test_a_merge_follows_the_rules_per_field_and_undo_restores_both(profile_api) -> None:
    api = profile_api
    ada, twin = await api.register(), await api.register()
    await api.client.patch(
        f"/v1/profiles/{ada}",
        json={"fields": {"name": "Ada", "job": {"title": "analyst"}, "interests": ["maths"]}},
        headers=api.customer(ada),
    )
    await api.client.patch(
        f"/v1/profiles/{twin}",
        json={
            "fields": {
                "name": "Ada L.",
                "phone": "+447700900123",
                "job": {"title": "countess"},
                "interests": ["poetry", "maths"],
            }
        },
        headers=api.customer(twin),
    )
    # Most restrictive consent wins: the twin refused personalisation, Ada granted it.
    await api.declare("shop-web", ["personalisation"])
    await api.consents(ada, personalisation=GRANTED)
    await api.consents(twin, personalisation=DENIED)
    shop = api.app("shop-web")

    async def ada_shows_job() -> bool:
        r = await api.client.get(f"/v1/profiles/{ada}", headers=shop)
        return "job" in r.json()["fields"]

    await eventually(ada_shows_job)

    merged = await api.client.post(
        "/v1/merges", json={"survivor_id": str(ada), "absorbed_id": str(twin)}, headers=api.admin()
    )
    assert merged.status_code == 201, merged.text
    merge_id = merged.json()["id"]
    fields = (await api.client.get(f"/v1/profiles/{ada}", headers=api.customer(ada))).json()[
        "fields"
    ]
    assert fields["name"]["value"] == "Ada"  # identity: the survivor's
    assert fields["phone"]["value"] == "+447700900123"  # ... or the other's where it has none
    assert fields["job"]["value"] == {"title": "countess"}
    assert fields["interests"]["value"] == ["maths", "poetry"]  # union, survivor's first
    as_app = (await api.client.get(f"/v1/profiles/{ada}", headers=shop)).json()
    assert as_app["fields"] == {} and as_app["allowed_kinds"] == []
    twin_read = await api.client.get(f"/v1/profiles/{twin}", headers=api.admin())
    assert twin_read.json()["subject_id"] == str(ada)

    for bad in (
        {"survivor_id": str(ada), "absorbed_id": str(twin)},
        {"survivor_id": str(ada), "absorbed_id": str(ada)},
    ):
        refused = await api.client.post("/v1/merges", json=bad, headers=api.admin())
        assert refused.status_code == 409
    assert (
        await api.client.post(
            "/v1/merges", json={"survivor_id": str(ada), "absorbed_id": str(twin)}, headers=shop
        )
    ).status_code == 403

    undone = await api.client.post(f"/v1/merges/{merge_id}/undo", headers=api.admin())
    assert undone.status_code == 200 and undone.json()["undone_at"]
    ada_after = (await api.client.get(f"/v1/profiles/{ada}", headers=api.customer(ada))).json()
    assert ada_after["merged_subject_ids"] == []
    assert {n: f["value"] for n, f in ada_after["fields"].items()} == {
        "name": "Ada",
        "job": {"title": "analyst"},
        "interests": ["maths"],
    }
    twin_after = (await api.client.get(f"/v1/profiles/{twin}", headers=api.customer(twin))).json()
    assert twin_after["subject_id"] == str(twin)
    assert twin_after["fields"]["name"]["value"] == "Ada L."
    assert "job" in (await api.client.get(f"/v1/profiles/{ada}", headers=shop)).json()["fields"]
    again = await api.client.post(f"/v1/merges/{merge_id}/undo", headers=api.admin())
    assert again.status_code == 409
    assert again.json()["type"].endswith("/merge-already-undone")
    assert await api.count(ProfileField.__table__) == 7
    types = await api.outbox_types()
    assert types.count("dev.ciam.profile.merged.v1") == 1
    assert types.count("dev.ciam.profile.merge-undone.v1") == 1
