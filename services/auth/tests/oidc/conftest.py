"""An auth service on real PostgreSQL, Redis and Kafka, with helpers of a relying party."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ciam_auth.main import create_app
from ciam_auth.oidc.provider import Provider
from ciam_auth.oidc.service import clients
from ciam_auth.sessions.store import COOKIE, SessionStore
from ciam_auth.settings import AuthSettings
from ciam_devtools.testing.plugin import running, settings_kwargs
from ciam_shared.db import create_engine, unit_of_work

REDIRECT = "https://shop.example.com/callback"
ISSUER = "http://auth.test"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


@dataclass
class RegisteredClient:
    client_id: str
    secret: str | None

    def basic(self) -> httpx.BasicAuth:
        assert self.secret is not None
        return httpx.BasicAuth(self.client_id, self.secret)


@dataclass
class Flow:
    """One authorization request's values, as a relying party keeps them."""

    verifier: str
    challenge: str
    state: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(8))


@dataclass
class AuthService:
    http: httpx.AsyncClient
    engine: AsyncEngine
    settings: AuthSettings
    store: SessionStore
    sessions: async_sessionmaker[AsyncSession]
    passwords: Any
    provider: Provider

    async def client(self, **overrides: Any) -> RegisteredClient:
        values: dict[str, Any] = {
            "name": "Shop",
            "brand": "acme",
            "redirect_uris": [REDIRECT],
            "post_logout_redirect_uris": ["https://shop.example.com/bye"],
            "scopes": ["openid", "email", "offline_access", "consent:read"],
            "purposes": ["marketing"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "auth_method": "client_secret_basic",
            "first_party": True,
        } | overrides
        async with unit_of_work(self.sessions) as session:
            client, secret = await clients.register(
                session, clients.ClientSpec(**values), topic_prefix=self.settings.topic_prefix
            )
        return RegisteredClient(client.client_id, secret)

    async def admin_token(self) -> str:
        # An operator client: no redirect URI of any kind (docs/security.md).
        admin = await self.client(
            name="ops",
            scopes=["auth:admin"],
            grant_types=["client_credentials"],
            redirect_uris=[],
            post_logout_redirect_uris=[],
        )
        response = await self.http.post(
            "/token", data={"grant_type": "client_credentials"}, auth=admin.basic()
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def account(self, email: str | None = None) -> uuid.UUID:
        """A registered customer with a confirmed address (the accounts flow is tested in
        tests/api; here it is the starting point)."""
        from sqlalchemy import text

        email = email or f"{secrets.token_hex(4)}@example.com"
        account_id = uuid.uuid4()
        async with self.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO accounts (id, email, password_hash, created_at, email_verified_at)"
                    " VALUES (:id, :email, :hash, now(), now())"
                ),
                {
                    "id": account_id,
                    "email": email,
                    "hash": await self.passwords.hash("a long pass 1"),
                },
            )
        return account_id

    async def sign_in(self, account_id: uuid.UUID) -> str:
        """A browser session, as the login page would create it."""
        session = await self.store.create(account_id, device="test", channel="web", amr=["pwd"])
        self.http.cookies.set(COOKIE, session.secret)
        return session.id

    async def authorize(self, client: RegisteredClient, flow: Flow, **extra: str) -> httpx.Response:
        params = {
            "client_id": client.client_id,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "openid email offline_access",
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
        } | extra
        return await self.http.get("/authorize", params={k: v for k, v in params.items() if v})

    async def code(self, client: RegisteredClient, flow: Flow, **extra: str) -> str:
        response = await self.authorize(client, flow, **extra)
        assert response.status_code == 303, response.text
        query = redirect_query(response)
        assert query["state"] == flow.state
        assert query["iss"] == ISSUER
        return query["code"]

    async def exchange(self, client: RegisteredClient, code: str, flow: Flow) -> httpx.Response:
        return await self.http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": flow.verifier,
            },
            auth=client.basic(),
        )

    async def tokens(self, client: RegisteredClient, **extra: str) -> dict[str, Any]:
        flow = Flow(*pkce())
        response = await self.exchange(client, await self.code(client, flow, **extra), flow)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def refresh(self, client: RegisteredClient, token: str) -> httpx.Response:
        return await self.http.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=client.basic(),
        )

    async def introspect(self, client: RegisteredClient, token: str) -> dict[str, Any]:
        response = await self.http.post("/introspect", data={"token": token}, auth=client.basic())
        assert response.status_code == 200, response.text
        return dict(response.json())


def redirect_query(response: httpx.Response) -> dict[str, str]:
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
async def auth(
    fresh_database, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> AsyncIterator[AuthService]:
    url = await fresh_database("ciam_auth.migrations")
    settings = AuthSettings(
        issuer=ISSUER,
        key_encryption_secret=secrets.token_urlsafe(32),
        **settings_kwargs(url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=topic_prefix),
    )
    engine = create_engine(url)
    app = create_app(settings)
    async with running(app) as http:
        runtime = app.state.runtime
        yield AuthService(
            http,
            engine,
            settings,
            runtime.parts.sessions,
            runtime.sessions,
            runtime.parts.context.passwords,
            runtime.parts.provider,
        )
    await engine.dispose()
