"""The auth service, as a separate process, mails to the local mail sink that `make run` starts:
a registration's verification mail shows on the sink's listing, in Polish, with a working code
and link."""

from __future__ import annotations

import re
import secrets
import uuid
from pathlib import Path

import httpx
import pytest

from ciam_devtools.devstack import free_port
from ciam_devtools.devstack.mailsink import MailSink
from ciam_devtools.testing.mail import links, newest_mail_id, wait_for_mail
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess

pytestmark = pytest.mark.e2e


async def test_a_registrations_verification_mail_reaches_the_sink_and_verifies_the_account(
    database_factory: DatabaseFactory, kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    database = await database_factory.create("ciam_auth.migrations")
    async with MailSink(tmp_path / "mail", smtp_port=free_port(), web_port=free_port()) as sink:
        auth = ServiceProcess("auth", {}, tmp_path)
        auth.env |= {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "REDIS_URL": redis_url,
            "KAFKA_TOPIC_PREFIX": f"mail{secrets.token_hex(4)}.",
            "CIAM_ENVIRONMENT": "test",
            "AUTH_DATABASE_URL": database,
            "AUTH_MIGRATE_ON_START": "false",
            "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
            "TOKEN_ISSUER": auth.url,
            "AUTH_SMTP_HOST": "127.0.0.1",
            "AUTH_SMTP_PORT": str(sink.smtp_port),
        }
        auth.env.pop("AUTH_MAIL_DIR", None)
        try:
            auth.start()
            mark = await newest_mail_id(sink.url)
            address = f"{uuid.uuid4().hex[:8]}@example.com"
            async with httpx.AsyncClient(base_url=auth.url, timeout=10) as client:
                registered = await client.post(
                    "/v1/accounts",
                    json={"email": address, "password": "a long and unusual passphrase 42"},
                    headers={"accept-language": "pl"},
                )
                assert registered.status_code == 202, registered.text

                mail = await wait_for_mail(sink.url, address, "Potwierdź", newer_than=mark)
                assert mail["subject"] == "Potwierdź adres e-mail"
                assert mail["text"].startswith("Dzień dobry,\n\npotwierdź swój adres e-mail")
                [link] = links(mail)
                assert "/verify-email?token=" in link
                code = re.search(r"\b(\d{6})\b", mail["text"])
                assert code is not None, mail["text"]
                assert (sink.store.directory / f"{mail['id']}.eml").is_file()

                verified = await client.post(
                    "/v1/email-verifications", json={"email": address, "code": code.group(1)}
                )
                assert verified.status_code == 200, verified.text
        finally:
            auth.stop()
            await database_factory.drop(database)
