"""The social import end to end, auth, consent and profile each a separate process over the
real broker, a certified OpenID provider (oidc-provider, tests/idp) playing Google.

The customer signs up with Google and lets the brand import their name (not their picture):
auth records the choices at the consent service, publishes IdentityLinked (field names
only), and the profile service asks auth for the values with its own client credentials. The
profile's read API shows the name and no picture. The customer then withdraws the import of
their name at the consent service: auth consumes the withdrawal, publishes
SocialImportWithdrawn, and the profile no longer has the name."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import secrets
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from joserfc.jwk import ECKey
from sqlalchemy import text

from ciam_devtools.testing.plugin import ServiceProcess, eventually
from ciam_shared.db import create_engine

pytestmark = pytest.mark.e2e

IDP_DIR = Path(__file__).parent / "idp"
GOOGLE_CLIENT = "shop-google-client"
GOOGLE_SECRET = secrets.token_urlsafe(24)
ADA = {
    "email": "ada@example.com",
    "email_verified": True,
    "name": "Ada Lovelace",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "picture": "https://example.com/ada.png",
    "locale": "en-GB",
}


@dataclass
class System:
    auth: ServiceProcess
    consent: ServiceProcess
    profile: ServiceProcess
    auth_database: str
    ops: httpx.BasicAuth  # a platform back end: reads profiles, records consents

    async def ops_token(self, client: httpx.AsyncClient) -> dict[str, str]:
        response = await client.post(
            f"{self.auth.url}/token", data={"grant_type": "client_credentials"}, auth=self.ops
        )
        assert response.status_code == 200, response.text
        return {"authorization": f"Bearer {response.json()['access_token']}"}


async def create_client(env: dict[str, str], name: str, *scopes: str) -> dict[str, str]:
    """Register a client with the auth service's CLI, as an operator does."""
    args = ["--name", name, "--grant", "client_credentials", "--first-party"]
    for scope in scopes:
        args += ["--scope", scope]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ciam_auth.cli", "create-client", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


@pytest.fixture
async def google_for(tmp_path: Path) -> AsyncIterator[Any]:
    """`await google_for(redirect_uri)`: oidc-provider started for the auth service's
    callback; its issuer URL."""
    if shutil.which("node") is None or not (IDP_DIR / "node_modules" / "oidc-provider").exists():
        pytest.skip("Node.js or tests/idp/node_modules missing (make node-deps)")
    processes: list[asyncio.subprocess.Process] = []

    async def start(redirect_uri: str) -> str:
        config = {
            "client_id": GOOGLE_CLIENT,
            "client_secret": GOOGLE_SECRET,
            "redirect_uris": [redirect_uri],
            "accounts": {"ada": ADA},
        }
        process = await asyncio.create_subprocess_exec(
            "node", str(IDP_DIR / "idp.mjs"), json.dumps(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        processes.append(process)
        assert process.stdout is not None
        issuer = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        assert issuer.startswith("http://127.0.0.1:"), issuer
        return issuer

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            await process.wait()


@pytest.fixture
async def system(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    tmp_path: Path,
    google_for: Any,
) -> AsyncIterator[System]:
    shared = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "CIAM_ENVIRONMENT": "test",
    }
    auth = ServiceProcess("auth", {}, tmp_path)
    consent = ServiceProcess("consent", {}, tmp_path)
    issuer = await google_for(f"{auth.url}/login/social/google/callback")
    google = {
        "id": "google", "label": "Google", "issuer": issuer,
        "client_id": GOOGLE_CLIENT, "client_secret": GOOGLE_SECRET,
    }  # fmt: skip
    auth_database = await fresh_database("ciam_auth.migrations")
    # Every service verifies the auth service's tokens: it is the issuer, as the runner has it.
    auth.env |= shared | {
        "AUTH_DATABASE_URL": auth_database,
        "AUTH_MIGRATE_ON_START": "false",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "AUTH_SOCIAL_PROVIDERS": json.dumps([google]),
        "AUTH_CONSENT_URL": consent.url,
        "TOKEN_ISSUER": auth.url,
    }
    consent.env |= shared | {
        "CONSENT_DATABASE_URL": await fresh_database("ciam_consent.migrations"),
        "CONSENT_MIGRATE_ON_START": "false",
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
        "TOKEN_ISSUER": auth.url,
    }
    started: list[ServiceProcess] = []
    try:
        started.append(auth.start())
        # Consent before profile: it announces the catalogue the profile reads at start.
        started.append(consent.start())
        importer = await create_client(auth.env, "profile", "auth:contacts")
        ops = await create_client(auth.env, "ops", "profile:admin", "consent:admin")
        profile = ServiceProcess(
            "profile",
            shared | {
                "PROFILE_DATABASE_URL": await fresh_database("ciam_profile.migrations"),
                "PROFILE_MIGRATE_ON_START": "false",
                "TOKEN_ISSUER": auth.url,
                "PROFILE_AUTH_URL": auth.url,
                "PROFILE_AUTH_CLIENT_ID": importer["client_id"],
                "PROFILE_AUTH_CLIENT_SECRET": importer["client_secret"],
            },
            tmp_path,
        )  # fmt: skip
        started.append(profile.start())
        yield System(
            auth,
            consent,
            profile,
            auth_database,
            httpx.BasicAuth(ops["client_id"], ops["client_secret"]),
        )
    finally:
        for process in reversed(started):
            process.stop()


def browser() -> httpx.AsyncClient:
    """The customer's browser. Browsers treat http://127.0.0.1 as a secure context and send
    it Secure cookies; Python's cookie jar does not unless told."""
    policy = http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
    return httpx.AsyncClient(cookies=http.cookiejar.CookieJar(policy), timeout=10)


async def through_google(page: httpx.Response, auth_url: str, login: str) -> str:
    """At Google: sign in, agree, and come back. Returns the callback URL on the auth service."""
    async with httpx.AsyncClient(timeout=10) as at_google:
        response = await at_google.get(page.headers["location"])
        for _ in range(12):
            if response.status_code in (302, 303):
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(auth_url):
                    return location
                response = await at_google.get(location)
                continue
            assert response.status_code == 200, response.text
            action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert action, response.text
            form = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text))
            if 'name="login"' in response.text:
                form |= {"login": login, "password": "any"}
            response = await at_google.post(urljoin(str(response.url), action.group(1)), data=form)
    raise AssertionError("Google never sent the browser back")


async def sign_up_with_google(auth_url: str, login: str, fields: list[str]) -> None:
    async with browser() as customer:
        start = await customer.get(f"{auth_url}/login/social/google", params={"return_to": "/shop"})
        assert start.status_code == 303, start.text
        callback = await customer.get(await through_google(start, auth_url, login))
        assert callback.status_code == 303, callback.text
        assert callback.headers["location"] == "/login/social/continue", callback.text
        page = await customer.get(f"{auth_url}/login/social/continue")
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, page.text
        done = await customer.post(
            f"{auth_url}/login/social/continue",
            data={"csrf_token": csrf.group(1), "decision": "accept", "fields": fields},
        )
        assert done.status_code == 303 and done.headers["location"] == "/shop", done.text


async def account_of(database_url: str, login: str) -> uuid.UUID:
    """The account the sign-up created (read from auth's database: the test's oracle)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            account = await connection.scalar(
                text("SELECT account_id FROM linked_identities WHERE subject = :sub"),
                {"sub": login},
            )
    finally:
        await engine.dispose()
    assert account is not None
    return uuid.UUID(str(account))


async def test_google_name_reaches_the_profile_and_leaves_it_on_withdrawal(
    system: System,
) -> None:
    await sign_up_with_google(system.auth.url, "ada", ["name"])
    subject = await account_of(system.auth_database, "ada")
    async with httpx.AsyncClient(timeout=10) as client:
        ops = await system.ops_token(client)
        profile_url = f"{system.profile.url}/v1/profiles/{subject}"

        async def fields() -> dict[str, Any]:
            response = await client.get(profile_url, headers=ops)
            return dict(response.json()["fields"]) if response.status_code == 200 else {}

        async def named() -> dict[str, Any] | None:
            current = await fields()
            return current if "name" in current else None

        imported = await eventually(named, timeout=60)
        assert imported["name"]["value"] == "Ada Lovelace"
        assert imported["name"]["source"] == "social-import"
        assert "picture" not in imported  # offered by Google, not allowed by the customer
        assert set(imported) == {"name"}

        withdrawn = await client.post(
            f"{system.consent.url}/v1/subjects/{subject}/consents/social-import/withdraw",
            json={"channel": "name"},
            headers=ops,
        )
        assert withdrawn.status_code == 200, withdrawn.text

        async def name_gone() -> bool:
            return "name" not in await fields()

        await eventually(name_gone, timeout=60)
        assert await fields() == {}
        # The profile is still there: only the imported value went.
        assert (await client.get(profile_url, headers=ops)).status_code == 200
