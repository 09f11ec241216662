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

import asyncio
import io
import json
import os
import random
import re
import secrets
import signal
import socket
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.mail import wait_for_mail
from ciam_devtools.testing.plugin import eventually

pytestmark = pytest.mark.e2e

READY_TIMEOUT = 180.0
PASSWORD = "a long enough passphrase"


def bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def four_free_ports() -> int:
    # Below the kernel's ephemeral range, as in test_system_end_to_end.py.
    for _ in range(200):
        base = random.randint(20000, 32000)
        if all(bindable(base + i) for i in range(4)):
            return base
    raise RuntimeError("no four consecutive free ports")


async def read_until_ready(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while True:
        raw = await stream.readline()
        if not raw:
            raise AssertionError("runner exited before ready:\n" + "".join(lines))
        lines.append(raw.decode())
        if lines[-1].startswith("ready:"):
            return


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
    base = four_free_ports()
    auth, profile, consent = (f"http://127.0.0.1:{base + i}" for i in range(3))
    mail_web_port = free_port()
    sink = f"http://127.0.0.1:{mail_web_port}"
    env = os.environ | {
        "CIAM_MAIL_PORT": str(free_port()),
        "CIAM_MAIL_WEB_PORT": str(mail_web_port),
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "DATABASE_URL": postgres_admin_url,
        # Development: the session cookie is not `Secure`, so it comes back over plain http.
        "CIAM_ENVIRONMENT": "development",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
    }
    runner = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ciam_devtools.devstack.run", "--base-port", str(base),
        "--topic-prefix", topic_prefix, "--db-prefix", f"rights_{uuid.uuid4().hex[:8]}_",
        "--var", str(tmp_path), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert runner.stdout is not None
    lines: list[str] = []
    try:
        await asyncio.wait_for(read_until_ready(runner.stdout, lines), READY_TIMEOUT)
        pids = [int(p) for p in re.findall(r"\(pid (\d+),", "".join(lines))]
        assert len(pids) == 4, lines  # four separate service processes
        async with httpx.AsyncClient(timeout=30) as http:
            await _journey(http, auth, profile, consent, sink, tmp_path)
        runner.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(runner.stdout.read(), 60)
        assert await asyncio.wait_for(runner.wait(), 30) == 0, rest.decode()
    finally:
        if runner.returncode is None:
            runner.kill()
            await runner.wait()


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
