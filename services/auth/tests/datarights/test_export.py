"""Download my data at the auth service: the request from the page, auth's own part (over
Kafka, like every service's), the parts of the others collected into one zip with a summary
page, progress on a status page, a mail when it is ready, the download for its owner only;
a missing or failed part makes no archive; expired archives are swept once."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from ciam_auth.datarights.models import DataExport, DataExportPart
from ciam_auth.datarights.service import exports
from ciam_devtools.testing.plugin import eventually
from ciam_shared.db import unit_of_work, utcnow
from ciam_shared.privacy import new_request_key

from ..conftest import PASSWORD, Auth, body_of
from .support import OTHERS, answer, documents, signed_in


@pytest.fixture
def auth_overrides() -> dict[str, Any]:
    return {"export_answer_seconds": 8, "export_sweep_seconds": 0.2}


async def requested(auth: Auth, csrf: str) -> uuid.UUID:
    response = await auth.client.post("/privacy/export", data={"csrf": csrf})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/privacy/export/")
    return uuid.UUID(location.rsplit("/", 1)[1])


async def states(auth: Auth, export_id: uuid.UUID, **headers: str) -> dict[str, str]:
    page = await auth.client.get(f"/privacy/export/{export_id}", headers=headers)
    assert page.status_code == 200, page.text
    return dict(re.findall(r'data-service="(\w+)" data-state="(\w+)"', page.text))


async def test_an_export_gathers_every_part_into_one_archive_for_its_owner(auth: Auth) -> None:
    address = "export@example.com"
    subject, csrf = await signed_in(auth, address)
    account = await auth.client.get("/account")
    assert 'href="/privacy/export"' in account.text  # reachable from the account page
    export_id = await requested(auth, csrf)
    again = await requested(auth, csrf)  # a second click joins the running export
    assert again == export_id
    staged = [r.event_type for r in await auth.staged()]
    assert staged.count("dev.ciam.privacy.export.requested.v1") == 1

    # Auth answers its own part over Kafka; the others have not answered yet.
    async def auth_answered() -> dict[str, str] | None:
        found = await states(auth, export_id)
        return found if found["auth"] == "answered" else None

    progress = await eventually(auth_answered)
    assert progress == {"auth": "answered", "consent": "pending", "profile": "pending",
                        "notifier": "pending"}  # fmt: skip
    pending = await auth.client.get(f"/privacy/export/{export_id}/archive")
    assert pending.status_code == 409

    sent = documents(subject)
    for service in OTHERS:
        await answer(auth, subject, export_id, service, sent[service])

    async def ready() -> bool:
        return set((await states(auth, export_id)).values()) == {"answered"}

    await eventually(ready)
    page = await auth.client.get(f"/privacy/export/{export_id}", headers={"accept-language": "pl"})
    assert "Gotowe do pobrania" in page.text and "Pobierz archiwum" in page.text
    assert re.search(r"\(\d+,\d KB\)", page.text), page.text  # the size as a customer reads it
    download = await auth.client.get(f"/privacy/export/{export_id}/archive")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert sorted(archive.namelist()) == sorted(
        ["summary.html", "auth.json", "consent.json", "profile.json", "notifier.json"]
    )
    for service in OTHERS:
        assert json.loads(archive.read(f"{service}.json")) == sent[service]
    own = json.loads(archive.read("auth.json"))
    assert own["account"]["email"] == address and own["account"]["id"] == str(subject)
    assert own["sessions"] and own["devices"]
    raw = archive.read("auth.json").decode()
    assert "argon2" not in raw and "password_hash" not in raw and "secret" not in raw
    summary = archive.read("summary.html").decode()
    assert address in summary and "consent-1" in summary and "Account and sign-in" in summary

    mail = await auth.mailbox.wait_for(address, count=2)
    assert mail["Subject"] == "Your data is ready to download"
    assert f"/privacy/export/{export_id}" in body_of(mail)
    async with auth.engine.connect() as connection:
        kept = (await connection.execute(select(DataExportPart.document))).scalars().all()
        key = await connection.scalar(select(DataExport.part_key).where(DataExport.id == export_id))
    assert kept == [None] * 4  # in the archive now: no second copy
    assert key is None  # the parts left in the Kafka log can no longer be read

    # Only its owner: another signed-in customer gets nothing, a signed-out visitor signs in.
    async with auth.other_client("192.0.2.9") as other:
        await auth.verified_account("other@example.com")
        await other.post(
            "/v1/sessions",
            json={"email": "other@example.com", "password": PASSWORD},
        )
        assert (await other.get(f"/privacy/export/{export_id}/archive")).status_code == 404
        assert (await other.get(f"/privacy/export/{export_id}")).status_code == 404
    async with auth.other_client("192.0.2.10") as anonymous:
        gone = await anonymous.get(f"/privacy/export/{export_id}/archive")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")


async def test_a_service_that_does_not_answer_fails_the_export_without_an_archive(
    auth: Auth,
) -> None:
    subject, csrf = await signed_in(auth, "silent@example.com")
    export_id = await requested(auth, csrf)
    sent = documents(subject)
    # The consent part was encrypted to another key: it does not open, so it is not used.
    await answer(
        auth, subject, export_id, "consent", sent["consent"], public_key=new_request_key()[1]
    )
    # The profile's part is over the inline limit: it says so instead of sending it.
    await answer(auth, subject, export_id, "profile", sent["profile"], max_inline_bytes=10)

    async def failed() -> dict[str, str] | None:
        found = await states(auth, export_id)
        return found if found["notifier"] == "failed" else None

    final = await eventually(failed, timeout=30)
    assert final == {"auth": "answered", "consent": "failed", "profile": "failed",
                     "notifier": "failed"}  # fmt: skip
    page = await auth.client.get(f"/privacy/export/{export_id}")
    assert "no incomplete archive was made" in page.text and "too much data" in page.text
    assert "an error" in page.text and "no answer in time" in page.text
    assert (await auth.client.get(f"/privacy/export/{export_id}/archive")).status_code == 410

    async def recorded() -> bool:
        async with auth.engine.connect() as connection:
            status = await connection.scalar(
                select(DataExport.status).where(DataExport.id == export_id)
            )
        return status == "failed"

    await eventually(recorded)  # the sweeper wrote it down
    # A part arriving after the deadline changes nothing.
    await answer(auth, subject, export_id, "notifier", sent["notifier"])
    assert (await auth.client.get(f"/privacy/export/{export_id}/archive")).status_code == 410


async def test_expired_archives_are_removed_once(auth: Auth) -> None:
    subject, csrf = await signed_in(auth, "expiring@example.com")
    export_id = await requested(auth, csrf)
    for service, document in documents(subject).items():
        await answer(auth, subject, export_id, service, document)

    async def ready() -> bool:
        async with auth.engine.connect() as connection:
            status = await connection.scalar(
                select(DataExport.status).where(DataExport.id == export_id)
            )
        return status == "ready"

    await eventually(ready)
    async with auth.engine.begin() as connection:
        await connection.execute(
            update(DataExport)
            .where(DataExport.id == export_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    # Two sweeps at once (replicas): the row is claimed by one of them (SKIP LOCKED).
    async def one_sweep() -> int:
        async with unit_of_work(auth.ctx.db) as session:
            return await exports.sweep(session)

    async def removed() -> bool:
        async with auth.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(DataExport.status, DataExport.archive).where(DataExport.id == export_id)
                )
            ).one()
        return row.status == "expired" and row.archive is None

    counts = await asyncio.gather(one_sweep(), one_sweep())
    assert sum(counts) <= 1  # the background sweeper may have been first
    await eventually(removed)
    assert (await auth.client.get(f"/privacy/export/{export_id}/archive")).status_code == 410
    page = await auth.client.get("/privacy/export")
    assert "No longer available" in page.text
