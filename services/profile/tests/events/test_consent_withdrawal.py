"""A withdrawal published on the consent state topic hides the fields of its data kinds from
an app's read and stops tracking; unknown means no; an anonymous visitor with GPC is never
tracked. Refused events are counted, never stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from ciam_devtools.testing.plugin import eventually
from ciam_profile.models import TrackedEvent
from ciam_shared.events import ConsentStatus

GRANTED, WITHDRAWN = ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN


def event(subject: uuid.UUID | None = None, **extra: object) -> dict[str, object]:
    return {
        "type": "page_view",
        "channel": "web",
        "occurred_at": datetime.now(UTC).isoformat(),
        **({"subject_id": str(subject)} if subject else {}),
        **extra,
    }


def refused(reason: str) -> float:
    value = REGISTRY.get_sample_value("ciam_profile_tracking_refused_total", {"reason": reason})
    return value or 0.0


async def test_a_withdrawal_hides_fields_from_an_app_and_stops_tracking(profile_api) -> None:
    api = profile_api
    subject = await api.register()
    await api.client.patch(
        f"/v1/profiles/{subject}",
        json={
            "fields": {
                "name": "Ada",
                "address": {
                    "line1": "1 Sq",
                    "city": "London",
                    "postal_code": "W1",
                    "country": "GB",
                },
                "interests": ["maths"],
            }
        },
        headers=api.customer(subject),
    )
    await api.declare("shop-web", ["personalisation", "analytics"])
    shop = api.app("shop-web", brand="acme")

    # Nothing granted yet: unknown means no.
    before = (await api.client.get(f"/v1/profiles/{subject}", headers=shop)).json()
    assert before["fields"] == {} and before["allowed_kinds"] == []
    untracked = await api.client.post("/v1/events", json={"events": [event(subject)]}, headers=shop)
    assert untracked.json()["results"][0] == {"index": 0, "stored": False, "reason": "no_consent"}

    await api.consents(subject, personalisation=GRANTED, analytics=GRANTED)

    async def visible() -> dict[str, object] | None:
        body = (await api.client.get(f"/v1/profiles/{subject}", headers=shop)).json()
        return body if "address" in body["fields"] else None

    shown = await eventually(visible)
    assert set(shown["fields"]) == {"address", "interests"}  # identity is no purpose's here
    assert shown["allowed_kinds"] == ["attitudinal", "behavioural", "descriptive"]
    assert (
        await api.client.post("/v1/events", json={"events": [event(subject)]}, headers=shop)
    ).json()["stored"] == 1
    customer_view = (
        await api.client.get(f"/v1/profiles/{subject}", headers=api.customer(subject))
    ).json()
    assert {"name", "address", "interests", "visits"} <= set(customer_view["fields"])

    refused_before = refused("no_consent")
    await api.consents(subject, personalisation=WITHDRAWN, analytics=WITHDRAWN)

    async def hidden() -> bool:
        body = (await api.client.get(f"/v1/profiles/{subject}", headers=shop)).json()
        return body["fields"] == {}

    await eventually(hidden)
    stopped = await api.client.post(
        "/v1/events", json={"events": [event(subject), event(subject)]}, headers=shop
    )
    assert stopped.json()["stored"] == 0 and stopped.json()["refused"] == 2
    assert refused("no_consent") == refused_before + 2
    assert await api.count(TrackedEvent.__table__, subject_id=subject) == 1
    metrics = (await api.client.get("/metrics")).text
    assert 'ciam_profile_tracking_refused_total{reason="no_consent"}' in metrics


async def test_consent_for_one_brand_does_not_serve_another(profile_api) -> None:
    api = profile_api
    subject = await api.register()
    await api.client.patch(
        f"/v1/profiles/{subject}",
        json={"fields": {"interests": ["maths"]}},
        headers=api.customer(subject),
    )
    await api.declare("shop-web", ["personalisation"])
    await api.declare("other-web", ["personalisation"])
    await api.consents(subject, personalisation=GRANTED)
    acme, other = api.app("shop-web", brand="acme"), api.app("other-web", brand="other")

    async def visible() -> bool:
        return (
            "interests"
            in (await api.client.get(f"/v1/profiles/{subject}", headers=acme)).json()["fields"]
        )

    await eventually(visible)  # a global grant serves every brand
    assert (
        "interests"
        in (await api.client.get(f"/v1/profiles/{subject}", headers=other)).json()["fields"]
    )
    undeclared = api.app("undeclared")
    assert (await api.client.get(f"/v1/profiles/{subject}", headers=undeclared)).json()[
        "fields"
    ] == {}


async def test_an_anonymous_visitor_with_gpc_is_never_tracked(profile_api) -> None:
    api = profile_api
    shop = api.app("shop-web")
    visitor = await api.client.post(
        "/v1/anonymous", json={"identifiers": [{"kind": "cookie", "value": "gpc-1"}]}, headers=shop
    )
    subject = uuid.UUID(visitor.json()["subject_id"])
    await api.consents(subject, analytics=GRANTED)  # a banner said yes

    async def tracked() -> bool:
        r = await api.client.post(
            "/v1/events", json={"events": [event(anonymous_id="gpc-1")]}, headers=shop
        )
        return bool(r.json()["stored"])

    await eventually(tracked)
    gpc_before = refused("gpc")
    with_header = await api.client.post(
        "/v1/events",
        json={"events": [event(anonymous_id="gpc-1")]},
        headers=shop | {"sec-gpc": "1"},
    )
    assert with_header.json()["results"][0]["reason"] == "gpc"
    in_event = await api.client.post(
        "/v1/events", json={"events": [event(anonymous_id="gpc-1", gpc=True)]}, headers=shop
    )
    assert in_event.json()["results"][0]["reason"] == "gpc"
    # Seen once with GPC on its registration, the visitor stays untracked.
    await api.client.post(
        "/v1/anonymous",
        json={"identifiers": [{"kind": "cookie", "value": "gpc-1"}], "gpc": True},
        headers=shop,
    )
    sticky = await api.client.post(
        "/v1/events", json={"events": [event(anonymous_id="gpc-1")]}, headers=shop
    )
    assert sticky.json()["results"][0]["reason"] == "gpc"
    unknown = await api.client.post(
        "/v1/events", json={"events": [event(device_id="never-seen")]}, headers=shop
    )
    assert unknown.json()["results"][0]["reason"] == "unknown_subject"
    assert refused("gpc") == gpc_before + 3
    assert await api.count(TrackedEvent.__table__, subject_id=subject) == 1


async def test_bad_tracking_input_is_refused_whole(profile_api) -> None:
    api = profile_api
    shop = api.app("shop-web")
    subject = await api.register()
    cases = [
        {"events": []},
        {"events": [event()]},  # names nobody
        {"events": [event(subject, type="Page View")]},
        {"events": [event(subject, occurred_at="2999-01-01T00:00:00+00:00")]},
        {"events": [event(subject, occurred_at="2026-01-01T00:00:00")]},  # no zone
        {"events": [event(subject, properties={"blob": "x" * 5000})]},
        {"events": [event(subject, colour="red")]},
    ]
    for body in cases:
        response = await api.client.post("/v1/events", json=body, headers=shop)
        assert response.status_code == 422, (body, response.text)
    customer = await api.client.post(
        "/v1/events", json={"events": [event(subject)]}, headers=api.customer(subject)
    )
    assert customer.status_code == 403
    assert await api.count(TrackedEvent.__table__) == 0
