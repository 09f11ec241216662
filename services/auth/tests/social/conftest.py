"""An auth service with upstream providers: two evil ones under the test's control and, where
Node is installed, a certified OpenID provider (oidc-provider) playing Google."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_auth.main import create_app
from ciam_auth.passwords import hash_password
from ciam_auth.sessions import COOKIE, store_of
from ciam_auth.settings import AuthSettings
from ciam_shared.db import create_engine
from ciam_shared.testing.plugin import running, settings_kwargs

from .evil import EvilProvider

ISSUER = "http://auth.test"
IDP_DIR = Path(__file__).parents[4] / "tests" / "idp"
GOOGLE_CLIENT = "shop-google-client"
GOOGLE_SECRET = "google-secret-0123456789abcdef0123456789"
GOOGLE_USER = {
    "email": "ada@example.com",
    "email_verified": True,
    "name": "Ada Lovelace",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "picture": "https://example.com/ada.png",
    "locale": "en-GB",
    "birthdate": "1815-12-10",
}


@dataclass
class Google:
    issuer: str
    process: asyncio.subprocess.Process


@dataclass
class SocialAuth:
    http: httpx.AsyncClient
    engine: AsyncEngine
    settings: AuthSettings
    evil: EvilProvider
    other: EvilProvider
    runtime: Any

    async def start(self, provider: str = "evil", **params: str) -> dict[str, str]:
        """The customer clicks "Sign in with ...": returns the authorization request sent."""
        response = await self.http.get(f"/login/social/{provider}", params=params)
        assert response.status_code == 303, response.text
        return query_of(response.headers["location"])

    async def callback(
        self, request: dict[str, str], id_token: str, *, provider: str = "evil",
        upstream: EvilProvider | None = None, **extra: str,
    ) -> httpx.Response:  # fmt: skip
        upstream = upstream or self.evil
        code = upstream.issue(id_token, request["code_challenge"])
        params = {"code": code, "state": request["state"], "iss": upstream.issuer} | extra
        return await self.http.get(
            f"/login/social/{provider}/callback", params={k: v for k, v in params.items() if v}
        )

    async def count(self, table: str) -> int:
        async with self.engine.connect() as connection:
            return int(await connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)

    async def outbox_types(self) -> list[str]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(text("SELECT event_type FROM outbox ORDER BY seq"))
            return [str(r[0]) for r in rows]

    async def sign_up(
        self, sub: str, *, provider: str = "evil", fields: tuple[str, ...] = (), **claims: Any
    ) -> httpx.Response:
        """A full first social sign-in through the pages: returns the final redirect."""
        upstream = self.other if provider == "other" else self.evil
        request = await self.start(provider, return_to="/welcome")
        token = upstream.sign(upstream.claims(request["nonce"], sub=sub, **claims))
        response = await self.callback(request, token, provider=provider, upstream=upstream)
        if response.headers.get("location") != "/login/social/continue":
            return response
        page = await self.http.get("/login/social/continue")
        if "csrf_token" not in page.text:  # a page that asks something else first
            return page
        return await self.answer(fields)

    async def answer(
        self, fields: tuple[str, ...] = (), decision: str = "accept"
    ) -> httpx.Response:
        page = await self.http.get("/login/social/continue")
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, page.text
        return await self.http.post(
            "/login/social/continue",
            data={"csrf_token": csrf.group(1), "decision": decision, "fields": list(fields)},
        )

    async def password_account(self, email: str) -> uuid.UUID:
        account_id = uuid.uuid4()
        async with self.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO accounts (id, email, password_hash, created_at) "
                     "VALUES (:id, :email, :hash, now())"),
                {"id": account_id, "email": email, "hash": await hash_password("pw 12345678")},
            )  # fmt: skip
        return account_id

    async def sign_in(self, account_id: uuid.UUID) -> None:
        """A password sign-in, as the accounts branch's login page does it."""
        session = await store_of(self.runtime).create(
            account_id, device="test", channel="web", amr=["pwd"]
        )
        self.http.cookies.set(COOKIE, session.id)

    async def signed_in_account(self) -> uuid.UUID | None:
        session_id = self.http.cookies.get(COOKIE)
        if not session_id:
            return None
        session = await store_of(self.runtime).get(session_id)
        return session.account_id if session else None


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture(scope="session")
def evil_providers() -> Iterator[tuple[EvilProvider, EvilProvider]]:
    with EvilProvider() as evil, EvilProvider() as other:
        yield evil, other


@pytest.fixture(scope="session")
async def google() -> AsyncIterator[Google | None]:
    if shutil.which("node") is None or not (IDP_DIR / "node_modules" / "oidc-provider").exists():
        yield None
        return
    config = {
        "client_id": GOOGLE_CLIENT,
        "client_secret": GOOGLE_SECRET,
        "redirect_uris": [f"{ISSUER}/login/social/google/callback"],
        "accounts": {"ada": GOOGLE_USER, "bob": GOOGLE_USER | {"email": "bob@example.com"}},
    }
    process = await asyncio.create_subprocess_exec(
        "node", str(IDP_DIR / "idp.mjs"), json.dumps(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    issuer = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
    assert issuer.startswith("http://127.0.0.1:"), issuer
    try:
        yield Google(issuer, process)
    finally:
        process.terminate()
        await process.wait()


@pytest.fixture
async def social(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    evil_providers: tuple[EvilProvider, EvilProvider],
    google: Google | None,
) -> AsyncIterator[SocialAuth]:
    evil, other = evil_providers
    for provider in (evil, other):
        provider.mode, provider.issuer_in_discovery = "ok", None
    providers = [evil.config("evil"), other.config("other")]
    if google is not None:
        providers.append({
            "id": "google", "label": "Google", "issuer": google.issuer,
            "client_id": GOOGLE_CLIENT, "client_secret": GOOGLE_SECRET,
            "scopes": ["openid", "email", "profile"],
        })  # fmt: skip
    url = await fresh_database("ciam_auth.migrations")
    settings = AuthSettings(
        issuer=ISSUER,
        key_encryption_secret=secrets.token_urlsafe(32),
        social_providers=providers,
        social_timeout_s=1.0,
        **settings_kwargs(url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=topic_prefix),
    )
    engine = create_engine(url)
    app = create_app(settings)
    async with running(app) as http:
        yield SocialAuth(http, engine, settings, evil, other, app.state.runtime)
    await engine.dispose()
