"""Download my data and delete my account across the four services, each a separate process
started by the runner `make run` uses, over the real broker, with the runner's mail sink.

A customer registers (code from the sink), grants a consent (the notifier mails a
confirmation) and gets a profile field; requests a copy of their data on the privacy page;
every service answers its part over Kafka; the archive is checked against what each service
answers on its own API. Then the account is deleted from the account page, which ends on the
erasure's status page; every service confirms its step over Kafka, and the sink holds the
mails of both ends.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from ciam_devtools.testing.mail import wait_for_mail
from ciam_devtools.testing.plugin import eventually
from ciam_devtools.testing.system import running_system

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


def steps_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-service="(\w+)" data-state="(\w+)"', html))


async def test_a_customer_downloads_their_data_then_deletes_the_account_across_services(
    kafka_bootstrap: str,
    redis_url: str,
    postgres_admin_url: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    async with running_system(
        kafka=kafka_bootstrap,
        redis=redis_url,
        postgres=postgres_admin_url,
        prefix=topic_prefix,
        var=tmp_path,
    ) as system:
        assert len(system.pids) == 4, system.pids  # four separate service processes
        async with httpx.AsyncClient(timeout=30) as http:
            await _journey(http, system.auth, system.profile, system.consent, system.mail, tmp_path)


async def _journey(
    http: httpx.AsyncClient, auth: str, profile: str, consent: str, sink: str, var: Path
) -> None:
    address = f"{uuid.uuid4().hex[:8]}@example.com"
    created = await http.post(f"{auth}/v1/accounts", json={"email": address, "password": PASSWORD})
    assert created.status_code == 202, created.text
    mail = await wait_for_mail(sink, address, "Confirm", 60)
    code = re.search(r"\b(\d{6})\b", mail["text"])
    assert code, mail["text"]
    verified = await http.post(
        f"{auth}/v1/email-verifications", json={"email": address, "code": code.group(1)}
    )
    assert verified.status_code == 200, verified.text
    subject = verified.json()["subject_id"]

    dev = json.loads((var / "dev-client.json").read_text())
    granted = await http.post(
        f"{auth}/token",
        data={"grant_type": "client_credentials",
              "scope": "consent:read consent:write profile:admin"},
        auth=(dev["client_id"], dev["client_secret"]),
    )  # fmt: skip
    assert granted.status_code == 200, granted.text
    bearer = {"authorization": f"Bearer {granted.json()['access_token']}"}

    async def known(url: str) -> bool:
        return (await http.get(url, headers=bearer)).status_code == 200

    await eventually(lambda: known(f"{profile}/v1/profiles/{subject}"), timeout=60)
    await eventually(lambda: known(f"{consent}/v1/subjects/{subject}/consents"), timeout=60)
    grant = await http.post(
        f"{consent}/v1/subjects/{subject}/consents/email-marketing/grant", json={}, headers=bearer
    )
    assert grant.status_code in (200, 201), grant.text
    patched = await http.patch(
        f"{profile}/v1/profiles/{subject}", json={"fields": {"name": "Ada"}}, headers=bearer
    )
    assert patched.status_code == 200, patched.text
    await wait_for_mail(sink, address, "", 60, newer_than=mail["id"])  # the notifier's

    async with httpx.AsyncClient(base_url=auth, timeout=30) as browser:
        signed = await browser.post("/v1/sessions", json={"email": address, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        page = await browser.get("/privacy/export")
        asked = await browser.post("/privacy/export", data={"csrf": csrf_of(page.text)})
        assert asked.status_code == 303, asked.text
        status_page = asked.headers["location"]

        async def ready() -> bool:
            found = steps_of((await browser.get(status_page)).text)
            assert "failed" not in found.values(), found
            return set(found.values()) == {"answered"}

        await eventually(ready, timeout=90)
        download = await browser.get(f"{status_page}/archive")
        assert download.status_code == 200, download.text
        archive = zipfile.ZipFile(io.BytesIO(download.content))
        await _check_archive(http, archive, bearer, subject, address, profile, consent)
        ready_mail = await wait_for_mail(sink, address, "ready to download", 60)
        assert status_page in ready_mail["text"]

        account = await browser.get("/account")
        deleted = await browser.post(
            "/account/delete", data={"password": PASSWORD, "csrf": csrf_of(account.text)}
        )
        assert deleted.status_code == 303, deleted.text
        deletion_page = deleted.headers["location"]
        assert deletion_page.startswith("/privacy/deletion/")

    async def erased() -> bool:
        page = await http.get(f"{auth}{deletion_page}")
        return set(steps_of(page.text).values()) == {"confirmed"}

    await eventually(erased, timeout=90)
    page = await http.get(f"{auth}{deletion_page}")
    assert "Erasure completed" in page.text
    assert steps_of(page.text).keys() == {"auth", "consent", "profile", "notifier"}
    first = await wait_for_mail(sink, address, "has been deleted", 60)
    assert deletion_page in first["text"]
    await wait_for_mail(sink, address, "has been erased", 60)
    assert (await http.get(f"{profile}/v1/profiles/{subject}", headers=bearer)).status_code == 404
    consents = await http.get(f"{consent}/v1/subjects/{subject}/consents", headers=bearer)
    assert consents.status_code == 410 or consents.json()["consents"] == []


async def _check_archive(
    http: httpx.AsyncClient,
    archive: zipfile.ZipFile,
    bearer: dict[str, str],
    subject: str,
    address: str,
    profile: str,
    consent: str,
) -> None:
    assert sorted(archive.namelist()) == sorted(
        ["summary.html", "auth.json", "consent.json", "profile.json", "notifier.json"]
    )
    parts: dict[str, Any] = {
        s: json.loads(archive.read(f"{s}.json")) for s in ("auth", "consent", "profile", "notifier")
    }
    # Auth: the account, never a secret.
    assert parts["auth"]["account"]["email"] == address
    assert parts["auth"]["account"]["id"] == subject
    assert "argon2" not in archive.read("auth.json").decode()
    # Consent: what its API holds, records and history with receipts.
    current = (await http.get(f"{consent}/v1/subjects/{subject}/consents", headers=bearer)).json()
    assert {(c["purpose"], c["status"]) for c in parts["consent"]["consents"]} == {
        (c["purpose"], c["status"]) for c in current["consents"]
    }
    history = (await http.get(f"{consent}/v1/subjects/{subject}/history", headers=bearer)).json()
    assert [e["entry_hash"] for e in parts["consent"]["history"]] == [
        e["entry_hash"] for e in history["entries"]
    ]
    assert all(e["receipt"]["jws"].count(".") == 2 for e in parts["consent"]["history"])
    # Profile: what its export API gives.
    own = (await http.get(f"{profile}/v1/profiles/{subject}/export", headers=bearer)).json()
    assert [p["fields"] for p in parts["profile"]["profiles"]] == [
        p["fields"] for p in own["profiles"]
    ]
    assert parts["profile"]["profiles"][0]["fields"]["name"]["value"] == "Ada"
    # Notifier: the confirmation of the grant it mailed.
    assert [m["purpose"] for m in parts["notifier"]["messages"]] == ["email-marketing"]
    summary = archive.read("summary.html").decode()
    assert address in summary and "Ada" in summary
