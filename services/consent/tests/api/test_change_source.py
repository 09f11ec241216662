"""Where a change came from: a customer's token names the app it was issued to in the
history's `source.app` (the auth service's own pages, or the third-party app acting for the
customer), as an app's own token names itself; an admin's change names no app."""

from __future__ import annotations

import uuid

from ciam_shared.tokens.scopes import FIRST_PARTY_CLIENT, MY_CONSENTS_READ, MY_CONSENTS_WRITE


async def test_each_change_names_the_app_whose_token_made_it(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await api.declare("quiz", ["email-marketing"], name="Quiz", brand="acme")
    await api.declare("shop-web", ["personalisation"], name="Shop", brand=None)
    base = f"/v1/subjects/{subject}/consents"
    for headers, purpose, action in (
        (api.customer(subject), "analytics", "grant"),
        (
            api.through("quiz", subject, (MY_CONSENTS_READ, MY_CONSENTS_WRITE)),
            "email-marketing",
            "grant",
        ),
        (api.app("shop-web"), "personalisation", "grant"),
        (api.admin(), "analytics", "withdraw"),
    ):
        answer = await api.client.post(f"{base}/{purpose}/{action}", json={}, headers=headers)
        assert answer.status_code == 200, answer.text
    history = await api.client.get(f"/v1/subjects/{subject}/history", headers=api.admin())
    entries = history.json()["entries"]
    assert [(e["source"]["app"], e["source_app_name"]) for e in entries] == [
        (FIRST_PARTY_CLIENT, None),
        ("quiz", "Quiz"),
        ("shop-web", "Shop"),
        (None, None),
    ]
