"""The auth service's access tokens open the other services' APIs: auth and consent run as
separate processes; consent verifies against auth's JWKS over HTTP with the shared helper."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey

from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess, eventually

pytestmark = pytest.mark.e2e


@dataclass
class System:
    auth: ServiceProcess
    consent: ServiceProcess
    auth_env: dict[str, str]

    async def app_client(self, *scopes: str) -> httpx.BasicAuth:
        args = ["--name", "shop-backend", "--brand", "acme", "--grant", "client_credentials"]
        # The purposes the app records consents for: consent holds an app to its declaration.
        args += ["--purpose", "email-marketing"]
        for scope in scopes:
            args += ["--scope", scope]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ciam_auth.cli", "create-client", *args,
            env=self.auth_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        created: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return httpx.BasicAuth(created["client_id"], created["client_secret"])


@pytest.fixture
async def system(
    database_factory: DatabaseFactory, kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[System]:
    prefix = f"tok{secrets.token_hex(4)}."
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
    }
    auth_db = await database_factory.create("ciam_auth.migrations")
    consent_db = await database_factory.create("ciam_consent.migrations")
    auth = ServiceProcess("auth", {}, tmp_path)
    auth.env |= common | {
        "AUTH_DATABASE_URL": auth_db,
        "AUTH_MIGRATE_ON_START": "false",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "TOKEN_ISSUER": auth.url,  # as the runner sets it: auth issues as what others verify
    }
    auth.start()
    consent = ServiceProcess(
        "consent",
        common | {
            "CONSENT_DATABASE_URL": consent_db,
            "CONSENT_MIGRATE_ON_START": "false",
            "TOKEN_ISSUER": auth.url,
            "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256")
            .as_pem(private=True)
            .decode(),
        },
        tmp_path,
    ).start()  # fmt: skip
    try:
        yield System(auth, consent, auth.env)
    finally:
        consent.stop()
        auth.stop()
        await database_factory.drop(auth_db)
        await database_factory.drop(consent_db)


async def test_an_app_token_from_auth_records_a_consent_and_an_id_token_does_not(
    system: System,
) -> None:
    app = await system.app_client("consent:read", "consent:write")
    async with httpx.AsyncClient(timeout=10) as http:
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        registered = await http.post(
            f"{system.auth.url}/v1/accounts",
            json={"email": email, "password": "a long and unusual passphrase 42"},
        )
        assert registered.status_code in (201, 202), registered.text
        token = (
            await http.post(
                f"{system.auth.url}/token", data={"grant_type": "client_credentials"}, auth=app
            )
        ).json()["access_token"]
        bearer = {"authorization": f"Bearer {token}"}
        subject = await _subject_of(system, email)
        grant_url = f"{system.consent.url}/v1/subjects/{subject}/consents/email-marketing/grant"

        async def granted() -> bool:
            # Consent learns the subject from auth's UserRegistered over Kafka first.
            response = await http.post(grant_url, json={"brand": "acme"}, headers=bearer)
            return response.status_code == 200

        await eventually(granted, timeout=30)
        tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
        refused = await http.post(
            grant_url, json={"brand": "acme"}, headers={"authorization": f"Bearer {tampered}"}
        )
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"


async def test_consent_follows_a_key_rotation_at_auth(system: System) -> None:
    admin = await system.app_client("auth:admin", "consent:read")
    async with httpx.AsyncClient(timeout=10) as http:

        async def token() -> str:
            response = await http.post(
                f"{system.auth.url}/token", data={"grant_type": "client_credentials"}, auth=admin
            )
            return str(response.json()["access_token"])

        read_url = f"{system.consent.url}/v1/subjects/{uuid.uuid4()}/consents"
        before = await http.get(read_url, headers={"authorization": f"Bearer {await token()}"})
        assert before.status_code != 401, before.text
        rotated = await http.post(
            f"{system.auth.url}/v1/admin/keys/rotate",
            headers={"authorization": f"Bearer {await token()}"},
        )
        assert rotated.status_code == 200, rotated.text
        after = await http.get(read_url, headers={"authorization": f"Bearer {await token()}"})
        assert after.status_code != 401, after.text  # a new kid: consent refetched the JWKS


async def _subject_of(system: System, email: str) -> uuid.UUID:
    """The account registration created: it is created by a job after the 202 (the answer is
    the same for a known address), so it is waited for."""
    from sqlalchemy import text

    from ciam_shared.db import create_engine

    engine = create_engine(system.auth_env["AUTH_DATABASE_URL"])

    async def created() -> object:
        async with engine.connect() as connection:
            return await connection.scalar(
                text("SELECT id FROM accounts WHERE email = :e"), {"e": email}
            )

    try:
        found = await eventually(created)
    finally:
        await engine.dispose()
    return uuid.UUID(str(found))
