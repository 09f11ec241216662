"""Who before which scopes at the profile service: a customer's token reaches that customer
only, and only with the customer scope of the action; a deleted app's tokens, its own and
its customers', stop at once for every request (docs/security.md)."""

from __future__ import annotations

import httpx

from ciam_profile.models import Identifier, Profile, ProfileField
from ciam_shared.tokens.scopes import (
    AUTH_ADMIN,
    CONSENT_ADMIN,
    CUSTOMER_SCOPES,
    MY_PROFILE_EXPORT,
    MY_PROFILE_READ,
    MY_PROFILE_WRITE,
    PROFILE_ADMIN,
    PROFILE_READ,
    PROFILE_TRACK,
    PROFILE_WRITE,
)

ADMIN_LIKE = (PROFILE_ADMIN, CONSENT_ADMIN, AUTH_ADMIN, PROFILE_READ, PROFILE_WRITE)


def _slug(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return str(response.json()["type"].rsplit("/", 1)[-1])


async def test_a_customer_token_of_an_app_with_admin_scopes_reaches_no_one_else(
    profile_api,
) -> None:
    """The reviewed hole: customer A, signed in to an app registered with admin scopes, read
    and exported customer B's profile."""
    api = profile_api
    await api.declare("rogue-app", ["analytics"])
    alice, bob = await api.register(), await api.register()
    written = await api.client.patch(
        f"/v1/profiles/{bob}", json={"fields": {"name": "Bob"}}, headers=api.customer(bob)
    )
    assert written.status_code == 200, written.text
    alices = api.through("rogue-app", alice, (*ADMIN_LIKE, *CUSTOMER_SCOPES))

    for method, path, body in (
        ("GET", f"/v1/profiles/{bob}", None),
        ("GET", f"/v1/profiles/{bob}/export", None),
        ("PATCH", f"/v1/profiles/{bob}", {"fields": {"name": "Mallory"}}),
        ("POST", f"/v1/profiles/{bob}/identifiers", {"kind": "email", "value": "m@example.com"}),
        ("POST", "/v1/merges", {"survivor_id": str(alice), "absorbed_id": str(bob)}),
    ):
        response = await api.client.request(method, path, json=body, headers=alices)
        assert response.status_code == 403, (method, path, response.text)
    bobs = await api.client.get(f"/v1/profiles/{bob}", headers=api.customer(bob))
    assert bobs.json()["fields"]["name"]["value"] == "Bob"
    assert await api.count(Identifier.__table__, subject_id=bob) == 0


async def test_a_third_party_token_with_only_openid_neither_reads_edits_nor_exports(
    profile_api,
) -> None:
    api = profile_api
    await api.declare("quiz", ["analytics"])
    subject = await api.register()
    quiz = api.through("quiz", subject, ("openid",))
    base = f"/v1/profiles/{subject}"

    for method, path, body, scope in (
        ("GET", base, None, MY_PROFILE_READ),
        ("GET", f"{base}/export", None, MY_PROFILE_EXPORT),
        ("PATCH", base, {"fields": {"name": "Quiz"}}, MY_PROFILE_WRITE),
        (
            "POST",
            f"{base}/identifiers",
            {"kind": "email", "value": "q@example.com"},
            MY_PROFILE_WRITE,
        ),
    ):
        response = await api.client.request(method, path, json=body, headers=quiz)
        assert response.status_code == 403, (method, path, response.text)
        assert _slug(response) == "insufficient-scope"
        assert response.json()["scope"] == scope
    assert await api.count(ProfileField.__table__, subject_id=subject) == 0
    assert await api.count(Identifier.__table__, subject_id=subject) == 0


async def test_each_customer_scope_opens_its_own_action_only(profile_api) -> None:
    api = profile_api
    await api.declare("quiz", ["analytics"])
    subject = await api.register()
    base = f"/v1/profiles/{subject}"
    reader = api.through("quiz", subject, (MY_PROFILE_READ,))
    editor = api.through("quiz", subject, (MY_PROFILE_WRITE,))
    exporter = api.through("quiz", subject, (MY_PROFILE_EXPORT,))

    edited = await api.client.patch(base, json={"fields": {"name": "Ada"}}, headers=editor)
    assert edited.status_code == 200, edited.text
    read = await api.client.get(base, headers=reader)
    assert read.json()["fields"]["name"]["value"] == "Ada"
    assert (await api.client.get(f"{base}/export", headers=reader)).status_code == 403
    assert (await api.client.get(base, headers=exporter)).status_code == 403
    exported = await api.client.get(f"{base}/export", headers=exporter)
    assert exported.status_code == 200, exported.text


async def test_a_deleted_apps_tokens_stop_every_write_at_once(profile_api) -> None:
    """The reviewed hole: a deleted app's unexpired token still edited fields, created
    anonymous profiles and linked identifiers; so did its customers' tokens."""
    api = profile_api
    await api.declare("old-shop", ["analytics"])
    subject = await api.register()
    shop = api.app("old-shop", scopes=(PROFILE_READ, PROFILE_WRITE, PROFILE_TRACK))
    customer = api.through("old-shop", subject, CUSTOMER_SCOPES)
    base = f"/v1/profiles/{subject}"
    before = await api.client.patch(base, json={"fields": {"name": "Ada"}}, headers=customer)
    assert before.status_code == 200, before.text

    await api.delete_app("old-shop")
    profiles, fields = await api.count(Profile.__table__), await api.count(ProfileField.__table__)
    identifiers = await api.count(Identifier.__table__)
    for headers, method, path, body in (
        (shop, "PATCH", base, {"fields": {"household": {"size": 3}}}),
        (shop, "POST", "/v1/anonymous", {"identifiers": [{"kind": "device", "value": "d-1"}]}),
        (shop, "POST", f"{base}/identifiers", {"kind": "device", "value": "d-2"}),
        (shop, "GET", base, None),
        (customer, "PATCH", base, {"fields": {"name": "Eve"}}),
        (customer, "POST", f"{base}/identifiers", {"kind": "email", "value": "e@example.com"}),
        (customer, "GET", base, None),
        (customer, "GET", f"{base}/export", None),
    ):
        response = await api.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert _slug(response) == "app-unknown"
    assert await api.count(Profile.__table__) == profiles
    assert await api.count(ProfileField.__table__) == fields
    assert await api.count(Identifier.__table__) == identifiers
