"""Every state a consent can be in, and every change a caller may ask from it.

States: none yet, granted, denied, withdrawn, expired (the sweep), needs_reconsent (a notice
version that requires it). A caller asks for granted, denied or withdrawn: from every state
each of them is allowed; asking for the state a record is already in (same notice version, same
expiry) changes nothing. The refusals (erased subject, version too old, GPC, legal basis) are in
test_refusals.py; the system's own moves in test_expiry.py, test_reconsent.py and test_gpc.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ciam_devtools.testing.plugin import eventually

PURPOSE = "analytics"
ASKED = ("granted", "denied", "withdrawn")
EVENT = {
    "granted": "dev.ciam.consent.granted.v1",
    "denied": "dev.ciam.consent.denied.v1",
    "withdrawn": "dev.ciam.consent.withdrawn.v1",
    "expired": "dev.ciam.consent.expired.v1",
    "needs_reconsent": "dev.ciam.consent.reconsent-required.v1",
}
STATE = "dev.ciam.consent.state.v1"


async def ask(api: Any, subject: uuid.UUID, status: str, **item: Any) -> Any:
    response = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={"changes": [{"purpose": PURPOSE, "status": status, **item}]},
        headers=api.admin(),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def record(api: Any, subject: uuid.UUID) -> dict[str, Any] | None:
    response = await api.client.get(f"/v1/subjects/{subject}/consents", headers=api.admin())
    if response.status_code == 404:
        return None
    found = [c for c in response.json()["consents"] if c["purpose"] == PURPOSE]
    assert len(found) == 1, found
    return dict(found[0])


async def history(api: Any, subject: uuid.UUID) -> list[dict[str, Any]]:
    response = await api.client.get(f"/v1/subjects/{subject}/history", headers=api.admin())
    if response.status_code == 404:
        return []
    assert response.json()["chain_valid"] is True
    return list(response.json()["entries"])


async def reach(api: Any, subjects: list[uuid.UUID], state: str) -> None:
    """Bring each subject's `analytics` consent into `state` the way it happens for real."""
    if state == "none":
        return
    for subject in subjects:
        if state == "expired":
            soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
            await ask(api, subject, "granted", expires_at=soon)
        else:
            await ask(api, subject, "granted")
            if state in ("denied", "withdrawn"):
                await ask(api, subject, state)
    if state == "needs_reconsent":
        published = await api.client.post(
            f"/v1/purposes/{PURPOSE}/versions",
            json={
                "notice": {"en": "New terms.", "pl": "Nowe warunki."},
                "requires_reconsent": True,
            },
            headers=api.admin(),
        )
        assert published.status_code == 201, published.text

    async def arrived() -> bool:
        found = [await record(api, s) for s in subjects]
        if state == "expired":
            # The read reports a lapsed grant as expired before the sweep records it: wait
            # for the sweep's entry too, or it lands between the test's read and its change.
            lasts = [(await history(api, s))[-1:] for s in subjects]
            if not all(last and last[0]["status"] == "expired" for last in lasts):
                return False
        return all((r or {}).get("status") == state for r in found)

    await eventually(arrived, timeout=15)


@pytest.mark.parametrize(
    "start", ["none", "granted", "denied", "withdrawn", "expired", "needs_reconsent"]
)
async def test_every_asked_change_from_every_state(consent_api, start: str) -> None:
    api = consent_api
    subjects = {asked: uuid.uuid4() for asked in ASKED}
    await reach(api, list(subjects.values()), start)
    current_version = 2 if start == "needs_reconsent" else 1

    for asked, subject in subjects.items():
        before, chain = await record(api, subject), await history(api, subject)
        staged = len(await api.outbox_types())
        body = await ask(api, subject, asked)
        after, longer = await record(api, subject), await history(api, subject)
        assert after is not None

        if start == asked:  # repeating the current choice proves nothing new
            assert body["changes"] == []
            assert after == before
            assert longer == chain
            assert len(await api.outbox_types()) == staged
            continue

        (change,) = body["changes"]
        assert change["status"] == asked
        assert change["version"] == len(chain) + 1 == body["version"]
        assert after["status"] == asked
        assert after["version"] == change["version"]
        assert after["purpose_version"] == current_version
        assert after["collected_via"] == "api"
        assert after["expires_at"] is None
        entry = longer[-1]
        assert (entry["version"], entry["status"]) == (change["version"], asked)
        assert entry["previous_hash"] == (chain[-1]["entry_hash"] if chain else None)
        assert (await api.outbox_types())[staged:] == [EVENT[asked], STATE]


async def test_a_grant_of_another_notice_version_or_expiry_is_a_new_change(consent_api) -> None:
    """Only the same status, notice version and expiry is a repeat."""
    api = consent_api
    subject = uuid.uuid4()
    await ask(api, subject, "granted")
    later = (datetime.now(UTC) + timedelta(days=365)).replace(microsecond=0)
    moved = await ask(api, subject, "granted", expires_at=later.isoformat())
    assert [c["status"] for c in moved["changes"]] == ["granted"]
    assert datetime.fromisoformat((await record(api, subject) or {})["expires_at"]) == later

    published = await api.client.post(
        f"/v1/purposes/{PURPOSE}/versions",
        json={"notice": {"en": "v2", "pl": "v2"}},
        headers=api.admin(),
    )
    assert published.status_code == 201
    assert published.json()["min_valid_version"] == 1  # no re-consent asked for
    assert (await record(api, subject) or {})["status"] == "granted"
    newer = await ask(api, subject, "granted", purpose_version=2, expires_at=later.isoformat())
    assert [c["status"] for c in newer["changes"]] == ["granted"]
    assert (await record(api, subject) or {})["purpose_version"] == 2
    older = await ask(api, subject, "granted", purpose_version=1, expires_at=later.isoformat())
    assert [c["status"] for c in older["changes"]] == ["granted"]  # v1 is still valid
    assert [e["purpose_version"] for e in await history(api, subject)] == [1, 1, 2, 1]


async def test_a_refusal_keeps_no_expiry(consent_api) -> None:
    api = consent_api
    subject = uuid.uuid4()
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    await ask(api, subject, "denied", expires_at=later)
    assert (await record(api, subject) or {})["expires_at"] is None
    single = await api.client.post(
        f"/v1/subjects/{subject}/consents/{PURPOSE}/withdraw",
        json={"expires_at": later},
        headers=api.admin(),
    )
    assert single.status_code == 200, single.text
    assert (await record(api, subject) or {})["expires_at"] is None
    assert [e["expires_at"] for e in await history(api, subject)] == [None, None]


async def test_scopes_of_one_purpose_are_separate_records(consent_api) -> None:
    """A brand or channel narrows a record: changing one scope leaves the others alone."""
    api = consent_api
    subject = uuid.uuid4()
    response = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={
            "changes": [
                {"purpose": "email-marketing", "status": "granted"},
                {"purpose": "email-marketing", "status": "denied", "brand": "cinema"},
                {"purpose": "email-marketing", "status": "granted", "channel": "email"},
                {"purpose": "email-marketing", "status": "withdrawn", "channel": "email"},
            ]
        },
        headers=api.admin(),
    )
    assert response.status_code == 200, response.text
    # The last item of a batch for the same scope sees the one before it.
    assert [c["version"] for c in response.json()["changes"]] == [1, 2, 3, 4]
    current = await api.client.get(f"/v1/subjects/{subject}/consents", headers=api.admin())
    scopes = {(c["brand"], c["channel"]): c["status"] for c in current.json()["consents"]}
    assert scopes == {
        (None, None): "granted",
        ("cinema", None): "denied",
        (None, "email"): "withdrawn",
    }
