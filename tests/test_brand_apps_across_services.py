"""A brand app's life across services, each a separate process over the real broker: auth's
admin API registers the app with its purposes; the notifier accepts its webhook subscription
and consent accepts its grant for a declared purpose and refuses an undeclared one; auth
deletes the app; the notifier stops its subscriptions and consent refuses its token, which
has not expired."""

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
from sqlalchemy import select

from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess, eventually
from ciam_notifier.models import Subscription
from ciam_shared.db import create_engine

pytestmark = pytest.mark.e2e


@dataclass
class System:
    auth: ServiceProcess
    consent: ServiceProcess
    notifier: ServiceProcess
    auth_env: dict[str, str]
    notifier_db: str

    async def admin(self, http: httpx.AsyncClient) -> dict[str, str]:
        """An admin's token at auth (a client registered with the CLI, as operators do)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ciam_auth.cli", "create-client", "--name", "ops",
            "--grant", "client_credentials", "--scope", "auth:admin",
            env=self.auth_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        created: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return await self.token(http, created["client_id"], created["client_secret"])

    async def token(self, http: httpx.AsyncClient, client_id: str, secret: str) -> dict[str, str]:
        response = await http.post(
            f"{self.auth.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
        assert response.status_code == 200, response.text
        return {"authorization": f"Bearer {response.json()['access_token']}"}

    async def subscription_statuses(self, client_id: str) -> list[str]:
        engine = create_engine(self.notifier_db)
        try:
            async with engine.connect() as connection:
                found = await connection.scalars(
                    select(Subscription.status).where(Subscription.app == client_id)
                )
                return list(found)
        finally:
            await engine.dispose()


@pytest.fixture
async def system(
    database_factory: DatabaseFactory, kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[System]:
    prefix = f"apps{secrets.token_hex(4)}."
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
    }
    auth_db = await database_factory.create("ciam_auth.migrations")
    consent_db = await database_factory.create("ciam_consent.migrations")
    notifier_db = await database_factory.create("ciam_notifier.migrations")
    auth = ServiceProcess("auth", {}, tmp_path)
    auth.env |= common | {
        "AUTH_DATABASE_URL": auth_db,
        "AUTH_MIGRATE_ON_START": "false",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "TOKEN_ISSUER": auth.url,
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
    )  # fmt: skip
    notifier = ServiceProcess(
        "notifier",
        common | {
            "NOTIFIER_DATABASE_URL": notifier_db,
            "NOTIFIER_MIGRATE_ON_START": "false",
            "TOKEN_ISSUER": auth.url,
            "NOTIFIER_WEBHOOK_ALLOWLIST": '["127.0.0.0/8"]',
        },
        tmp_path,
    )  # fmt: skip
    try:
        consent.start()
        notifier.start()
        yield System(auth, consent, notifier, auth.env, notifier_db)
    finally:
        notifier.stop()
        consent.stop()
        auth.stop()
        for db in (auth_db, consent_db, notifier_db):
            await database_factory.drop(db)


async def test_an_app_registered_at_auth_is_served_until_auth_deletes_it(system: System) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        admin = await system.admin(http)
        registered = await http.post(
            f"{system.auth.url}/v1/admin/clients",
            json={
                "name": "Daily News",
                "brand": "news",
                "scopes": ["consent:read", "consent:write", "notifier:webhooks"],
                "purposes": ["email-marketing"],
                "grant_types": ["client_credentials"],
            },
            headers=admin,
        )
        assert registered.status_code == 201, registered.text
        client_id = registered.json()["client_id"]
        app = await system.token(http, client_id, registered.json()["client_secret"])
        subject = uuid.uuid4()
        consents = f"{system.consent.url}/v1/subjects/{subject}/consents"
        subscriptions = f"{system.notifier.url}/v1/subscriptions"

        # The registration reaches consent and the notifier over the apps topic.
        async def subscribed() -> bool:
            response = await http.post(
                subscriptions, json={"url": "http://127.0.0.1:9/hook"}, headers=app
            )
            return response.status_code == 201

        await eventually(subscribed, timeout=30)

        async def granted() -> bool:
            response = await http.post(f"{consents}/email-marketing/grant", json={}, headers=app)
            return response.status_code == 200

        await eventually(granted, timeout=30)
        undeclared = await http.post(f"{consents}/analytics/grant", json={}, headers=app)
        assert undeclared.status_code == 403
        assert undeclared.json()["type"].endswith("/purpose-not-declared")
        outside = await http.post(
            subscriptions,
            json={"url": "http://127.0.0.1:9/hook", "purposes": ["analytics"]},
            headers=app,
        )
        assert outside.status_code == 403
        history = await http.get(f"{system.consent.url}/v1/subjects/{subject}/history", headers=app)
        assert history.json()["entries"][0]["source_app_name"] == "Daily News"

        deleted = await http.delete(
            f"{system.auth.url}/v1/admin/clients/{client_id}", headers=admin
        )
        assert deleted.status_code == 204

        async def stopped() -> bool:
            return await system.subscription_statuses(client_id) == ["deleted"]

        await eventually(stopped, timeout=30)

        async def consent_refuses() -> bool:
            response = await http.post(f"{consents}/email-marketing/grant", json={}, headers=app)
            return response.status_code == 403

        await eventually(consent_refuses, timeout=30)
        refused = await http.post(f"{consents}/email-marketing/withdraw", json={}, headers=app)
        assert refused.json()["type"].endswith("/app-unknown")
        notifier_refuses = await http.get(subscriptions, headers=app)
        assert notifier_refuses.status_code == 403
        assert notifier_refuses.json()["type"].endswith("/app-unknown")
