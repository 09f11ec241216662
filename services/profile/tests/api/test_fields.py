"""Writing profile fields: who may write which data kind, and bad input refused whole."""

from __future__ import annotations

import uuid

from ciam_profile.auth import READ
from ciam_profile.models import Profile, ProfileField, outbox

ADA = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "birthday": "1815-12-10",
    "address": {
        "line1": "12 St James's Sq",
        "city": "London",
        "postal_code": "SW1",
        "country": "GB",
    },
    "interests": ["maths", "poetry"],
    "satisfaction": 9,
}


async def test_a_customer_writes_and_reads_their_own_fields_each_tagged_with_its_kind(
    profile_api,
) -> None:
    api = profile_api
    subject = await api.register()
    response = await api.client.patch(
        f"/v1/profiles/{subject}", json={"fields": ADA}, headers=api.customer(subject)
    )
    assert response.status_code == 200, response.text
    fields = response.json()["fields"]
    assert fields["name"]["value"] == "Ada Lovelace"
    assert {n: f["kind"] for n, f in fields.items()} == {
        "name": "identity",
        "email": "identity",
        "birthday": "identity",
        "address": "descriptive",
        "interests": "attitudinal",
        "satisfaction": "attitudinal",
    }
    cleared = await api.client.patch(
        f"/v1/profiles/{subject}",
        json={"fields": {"satisfaction": None}},
        headers=api.customer(subject),
    )
    assert "satisfaction" not in cleared.json()["fields"]
    assert await api.count(ProfileField.__table__, subject_id=subject) == 5
    assert "dev.ciam.profile.updated.v1" in await api.outbox_types()


async def test_an_app_writes_only_the_kinds_its_scopes_allow(profile_api) -> None:
    api = profile_api
    subject = await api.register()
    descriptive_only = api.app("loyalty", scopes=(READ, "profile:write:descriptive"))
    refused = await api.client.patch(
        f"/v1/profiles/{subject}",
        json={"fields": {"household": {"size": 3}, "name": "Mallory"}},
        headers=descriptive_only,
    )
    assert refused.status_code == 403
    assert refused.json()["fields"] == ["name"]
    assert await api.count(ProfileField.__table__, subject_id=subject) == 0
    allowed = await api.client.patch(
        f"/v1/profiles/{subject}",
        json={"fields": {"household": {"size": 3}}},
        headers=descriptive_only,
    )
    assert allowed.status_code == 200
    reader = api.app("reader", scopes=(READ,))
    no_write = await api.client.patch(
        f"/v1/profiles/{subject}", json={"fields": {"household": {"size": 4}}}, headers=reader
    )
    assert no_write.status_code == 403
    other = uuid.uuid4()
    assert (
        await api.client.patch(
            f"/v1/profiles/{subject}", json={"fields": {"name": "x"}}, headers=api.customer(other)
        )
    ).status_code == 403


async def test_bad_input_is_a_problem_and_writes_nothing(profile_api) -> None:
    api = profile_api
    subject = await api.register()
    outbox_before = await api.count(outbox)
    me = api.customer(subject)
    cases = [
        {"fields": {"shoe_size": 44}},  # an unknown field
        {"fields": {"name": "Ada", "birthday": "not a date"}},  # a wrong type, with a good one
        {"fields": {"email": "not-an-email"}},
        {"fields": {"address": {"line1": "x", "city": "y", "postal_code": "1", "country": "gb"}}},
        {"fields": {"satisfaction": 11}},
        {"fields": {"interests": "maths"}},
        {"fields": {"name": "Ada"}, "extra": True},  # unknown top-level member
    ]
    for body in cases:
        response = await api.client.patch(f"/v1/profiles/{subject}", json=body, headers=me)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/validation")
    not_json = await api.client.patch(
        f"/v1/profiles/{subject}",
        content=b"{nope",
        headers=me | {"content-type": "application/json"},
    )
    assert not_json.status_code == 422
    oversized = await api.client.patch(
        f"/v1/profiles/{subject}",
        json={"fields": {"name": "A" * (api.settings.max_body_bytes + 1)}},
        headers=me,
    )
    assert oversized.status_code == 413
    assert oversized.json()["type"].endswith("/payload-too-large")

    async def chunks():  # no Content-Length: counted as it arrives
        yield b'{"fields": {"name": "'
        for _ in range(api.settings.max_body_bytes // 1024 + 1):
            yield b"A" * 1024
        yield b'"}}'

    streamed = await api.client.patch(
        f"/v1/profiles/{subject}",
        content=chunks(),
        headers=me | {"content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"
    assert await api.count(ProfileField.__table__) == 0
    assert await api.count(outbox) == outbox_before
    assert await api.count(Profile.__table__) == 1
