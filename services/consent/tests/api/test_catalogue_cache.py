"""The hot path of a change reads the purpose catalogue from memory: a change to the catalogue
made by another process (another worker or replica, here: straight in the database) counts from
the next request, and a request refused after it reloaded the catalogue leaves it usable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

PURPOSE = "sms-marketing"


async def grant(api: Any, subject: uuid.UUID, **item: Any) -> Any:
    return await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={"changes": [{"purpose": PURPOSE, "status": "granted", **item}]},
        headers=api.admin(),
    )


async def test_a_reconsent_published_by_another_process_refuses_the_old_version_at_once(
    consent_api,
) -> None:
    api = consent_api
    assert (await grant(api, uuid.uuid4())).status_code == 200  # the catalogue is in memory
    versions = (await api.client.get(f"/v1/purposes/{PURPOSE}")).json()["versions"]
    old = max(v["version"] for v in versions)
    # What another process's `publish_version(requires_reconsent=True)` writes.
    async with api.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO purpose_versions (purpose_id, version, notice, notice_hash,"
                " published_at) VALUES (:p, :v, CAST(:n AS json), :h, :t)"
            ),
            {"p": PURPOSE, "v": old + 1, "n": '{"en": "New", "pl": "Nowe"}', "h": "0" * 64,
             "t": datetime.now(UTC)},
        )  # fmt: skip
        await connection.execute(
            text("UPDATE purposes SET current_version = :v, min_valid_version = :v WHERE id = :p"),
            {"p": PURPOSE, "v": old + 1},
        )

    refused = await grant(api, uuid.uuid4(), purpose_version=old)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("purpose-version-too-old")
    granted = await grant(api, uuid.uuid4())
    assert granted.status_code == 200, granted.text
    history = await api.client.get(
        f"/v1/subjects/{granted.json()['subject_id']}/history", headers=api.admin()
    )
    assert history.json()["entries"][0]["purpose_version"] == old + 1


async def test_a_refused_request_that_reloaded_the_catalogue_leaves_it_usable(
    consent_api,
) -> None:
    api = consent_api
    published = await api.client.post(
        f"/v1/purposes/{PURPOSE}/versions",
        json={"notice": {"en": "v", "pl": "v"}, "requires_reconsent": False},
        headers=api.admin(),
    )
    assert published.status_code == 201, published.text
    # The first change after it reloads the catalogue, and is refused: its transaction rolls
    # back, which must not spoil the catalogue now in memory.
    subject = uuid.uuid4()
    refused = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={"changes": [{"purpose": "no-such-purpose", "status": "granted"}]},
        headers=api.admin(),
    )
    assert refused.status_code == 422, refused.text
    granted = await grant(api, subject)
    assert granted.status_code == 200, granted.text
    assert [c["purpose"] for c in granted.json()["changes"]] == [PURPOSE]
