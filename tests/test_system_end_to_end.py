"""The whole system as separate processes, started by the runner `make run` uses.

An account registered at the auth service (confirmed with the code it mails to the runner's
mail sink) leaves through its outbox onto Kafka and is seen applied by the profile and consent
services; the notifier's confirmation of a consent reaches the sink too; Ctrl-C (SIGINT) then
stops every process.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import signal
import socket
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import ECKey

from ciam_shared.devstack import free_port
from ciam_shared.devstack.process import port_in_use
from ciam_shared.testing.mail import wait_for_mail
from ciam_shared.testing.plugin import eventually

pytestmark = pytest.mark.e2e

READY_TIMEOUT = 180.0


def bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def four_free_ports() -> int:
    # Below the kernel's ephemeral range (32768+), so no outgoing connection takes one of them
    # between this check and the services binding them.
    for _ in range(200):
        base = random.randint(20000, 32000)
        if all(bindable(base + i) for i in range(4)):
            return base
    raise RuntimeError("no four consecutive free ports")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def read_until_ready(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while True:
        raw = await stream.readline()
        if not raw:
            raise AssertionError("runner exited before ready:\n" + "".join(lines))
        lines.append(raw.decode())
        if lines[-1].startswith("ready:"):
            return


async def test_an_event_crosses_services_started_by_the_runner_and_all_stop_cleanly(
    kafka_bootstrap: str,
    redis_url: str,
    postgres_admin_url: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    base = four_free_ports()
    mail_port, mail_web_port = free_port(), free_port()
    sink = f"http://127.0.0.1:{mail_web_port}"
    env = os.environ | {
        "CIAM_MAIL_PORT": str(mail_port),
        "CIAM_MAIL_WEB_PORT": str(mail_web_port),
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "DATABASE_URL": postgres_admin_url,
        "CIAM_ENVIRONMENT": "test",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
    }
    runner = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ciam_shared.devstack.run",
        "--base-port",
        str(base),
        "--topic-prefix",
        topic_prefix,
        "--db-prefix",
        f"e2e_{uuid.uuid4().hex[:8]}_",
        "--var",
        str(tmp_path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert runner.stdout is not None
    lines: list[str] = []
    try:
        await asyncio.wait_for(read_until_ready(runner.stdout, lines), READY_TIMEOUT)
        # The profile and the notifier got their own clients for auth's internal API, which
        # auth declared (AUTH_SERVICE_CLIENTS) and created as it started; no log holds a secret.
        logs = {path.name: path.read_text() for path in (tmp_path / "logs").glob("*.log")}
        for service in ("profile", "notifier"):
            path = tmp_path / f"{service}-client.json"
            assert path.stat().st_mode & 0o077 == 0
            own = json.loads(path.read_text())
            assert f"service client {own['client_id']} created" in logs["auth.log"]
            assert not [name for name, text in logs.items() if own["client_secret"] in text]
        assert "social import off" not in logs["profile.log"]
        assert f"mail      {sink}" in "".join(lines)
        pids = [int(p) for p in re.findall(r"\(pid (\d+),", "".join(lines))]
        assert len(pids) == 4, lines
        assert all(alive(pid) for pid in pids)

        async with httpx.AsyncClient(timeout=10) as client:
            address = f"{uuid.uuid4().hex[:8]}@example.com"
            created = await client.post(
                f"http://127.0.0.1:{base}/v1/accounts",
                json={"email": address, "password": "a long enough passphrase"},
                headers={"accept-language": "pl"},
            )
            assert created.status_code == 202, created.text

            mail = await wait_for_mail(sink, address, "Potwierdź adres e-mail")
            code = re.search(r"\b(\d{6})\b", mail["text"])
            assert code, mail["text"]
            verified = await client.post(
                f"http://127.0.0.1:{base}/v1/email-verifications",
                json={"email": address, "code": code.group(1)},
            )
            assert verified.status_code == 200, verified.text
            subject = verified.json()["subject_id"]

            # The runner registered a development client; its token comes from auth's token
            # endpoint, and profile and consent verify it against auth's JWKS.
            dev = json.loads((tmp_path / "dev-client.json").read_text())
            granted = await client.post(
                f"http://127.0.0.1:{base}/token",
                data={
                    "grant_type": "client_credentials",
                    "scope": "consent:read consent:write profile:admin",
                },
                auth=(dev["client_id"], dev["client_secret"]),
            )
            assert granted.status_code == 200, granted.text
            bearer = {"authorization": f"Bearer {granted.json()['access_token']}"}

            async def applied(url: str) -> bool:
                return (await client.get(url, headers=bearer)).status_code == 200

            await eventually(lambda: applied(f"http://127.0.0.1:{base + 1}/v1/profiles/{subject}"))

            async def consent_knows_subject() -> bool:
                response = await client.get(
                    f"http://127.0.0.1:{base + 2}/v1/subjects/{subject}/consents",
                    headers=bearer,
                )
                return response.status_code == 200

            await eventually(consent_knows_subject)
            # The notifier confirms the grant by mail (in the account's language) to the sink.
            grant = f"http://127.0.0.1:{base + 2}/v1/subjects/{subject}/consents/email-marketing"
            granted_consent = await client.post(f"{grant}/grant", headers=bearer, json={})
            assert granted_consent.status_code in (200, 201), granted_consent.text
            confirmation = await wait_for_mail(sink, address, "Zapisaliśmy Twój wybór", 60)
            assert "Zapisaliśmy Twoją zgodę na „email-marketing”" in confirmation["text"]
            for port in range(base, base + 4):
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
                assert ready.status_code == 200, ready.text

        runner.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(runner.stdout.read(), 60)
        assert await asyncio.wait_for(runner.wait(), 30) == 0, rest.decode()
        assert "stopped" in rest.decode()
        assert not [pid for pid in pids if alive(pid)], "service processes left behind"
        assert not any(port_in_use(p) for p in [*range(base, base + 4), mail_port, mail_web_port])
    finally:
        if runner.returncode is None:
            runner.kill()
            await runner.wait()
