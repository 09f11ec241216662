"""An auth service with upstream providers: two evil ones under the test's control and, where
Node is installed, a certified OpenID provider (oidc-provider) playing Google."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from joserfc.jwk import ECKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_auth.main import create_app
from ciam_auth.sessions.store import COOKIE
from ciam_auth.settings import AuthSettings
from ciam_consent.main import create_app as create_consent_app
from ciam_consent.settings import ConsentSettings
from ciam_devtools.testing.plugin import running, settings_kwargs
from ciam_shared.db import create_engine

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
    consent_url: str = ""
    app: Any = None

    def other_browser(self) -> httpx.AsyncClient:
        """Another browser (its own cookie jar) on the same running app."""
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def app_token(self, *scopes: str) -> dict[str, str]:
        """An operator tool's bearer token, signed by this auth service (consent and the
        notifier take app tokens only from registered apps: operators use admin scopes)."""
        issuer = self.runtime.parts.provider.issuer
        token, _ = issuer.access_token(sub="ops", client_id="ops", scope=" ".join(scopes))
        return {"authorization": f"Bearer {token}"}

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
        if 'name="decision"' not in page.text:  # a page that asks something else first
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

    async def hash(self, password: str) -> str:
        return str(await self.runtime.parts.context.passwords.hash(password))

    async def password_account(self, email: str, *, verified: bool = True) -> uuid.UUID:
        """`verified=False`: a registration whose address nobody confirmed."""
        account_id = uuid.uuid4()
        async with self.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO accounts (id, email, password_hash, created_at, "
                     "email_verified_at) VALUES (:id, :email, :hash, now(), "
                     + ("now())" if verified else "NULL)")),
                {"id": account_id, "email": email, "hash": await self.hash("pw 12345678")},
            )  # fmt: skip
        return account_id

    async def sign_in(self, account_id: uuid.UUID) -> None:
        """A password sign-in, as the accounts branch's login page does it."""
        session = await self.runtime.parts.sessions.create(
            account_id, device="test", channel="web", amr=["pwd"]
        )
        self.http.cookies.set(COOKIE, session.secret)

    async def signed_in_account(self) -> uuid.UUID | None:
        secret = self.http.cookies.get(COOKIE)
        if not secret:
            return None
        session = await self.runtime.parts.sessions.get_by_secret(secret)
        return session.account_id if session else None


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture(scope="session")
def evil_providers() -> Iterator[tuple[EvilProvider, EvilProvider]]:
    with EvilProvider() as evil, EvilProvider() as other:
        yield evil, other


@pytest.fixture(scope="session")
async def google() -> AsyncIterator[Google | None]:
    async with idp(userinfo_only=False) as started:
        yield started


@pytest.fixture(scope="session")
async def google_userinfo() -> AsyncIterator[Google | None]:
    """oidc-provider as it comes: the ID token carries only `sub`; the address and the name
    are at its userinfo endpoint (OIDC Core 5.4)."""
    async with idp(userinfo_only=True) as started:
        yield started


@asynccontextmanager
async def idp(*, userinfo_only: bool) -> AsyncIterator[Google | None]:
    if shutil.which("node") is None or not (IDP_DIR / "node_modules" / "oidc-provider").exists():
        yield None
        return
    config = {
        "client_id": GOOGLE_CLIENT,
        "client_secret": GOOGLE_SECRET,
        "redirect_uris": [f"{ISSUER}/login/social/google/callback"],
        "accounts": {"ada": GOOGLE_USER, "bob": GOOGLE_USER | {"email": "bob@example.com"}},
        "userinfo_only": userinfo_only,
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


@asynccontextmanager
async def served(app: Any, sock: socket.socket) -> AsyncIterator[None]:
    """Serve an ASGI app on a bound loopback socket (for what must reach it over HTTP: the
    consent service calls the auth's JWKS, the auth service calls the consent API)."""
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


def loopback_socket() -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


def google_config(google: Google) -> dict[str, Any]:
    return {
        "id": "google", "label": "Google", "issuer": google.issuer,
        "client_id": GOOGLE_CLIENT, "client_secret": GOOGLE_SECRET,
        "scopes": ["openid", "email", "profile"],
    }  # fmt: skip


@pytest.fixture
async def social_with_consent(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    evil_providers: tuple[EvilProvider, EvilProvider],
    google: Google | None,
) -> AsyncIterator[SocialAuth]:
    """The auth service with a real consent service: the one recording import choices over
    HTTP, the other verifying the auth's tokens against its JWKS and publishing changes."""
    if google is None:
        pytest.skip("Node.js or tests/idp/node_modules missing (make node-deps)")
    evil, other = evil_providers
    for provider in (evil, other):
        provider.mode, provider.issuer_in_discovery, provider.userinfo = "ok", None, None
    auth_sock, auth_url = loopback_socket()
    consent_sock, consent_url = loopback_socket()
    common = {"kafka": kafka_bootstrap, "redis": redis_url, "topic_prefix": topic_prefix}
    settings = AuthSettings(
        issuer=ISSUER,
        key_encryption_secret=secrets.token_urlsafe(32),
        social_providers=[
            evil.config("evil"),
            google_config(google),
            evil.config("evilapple") | {"response_mode": "form_post", "name_in_user_param": True},
        ],
        social_timeout_s=5.0,
        consent_url=consent_url,
        **settings_kwargs(await fresh_database("ciam_auth.migrations"), **common),
    )
    consent_settings = ConsentSettings(
        **settings_kwargs(await fresh_database("ciam_consent.migrations"), **common),
        token_issuer=ISSUER,
        token_jwks_url=f"{auth_url}/.well-known/jwks.json",
        receipt_signing_key=ECKey.generate_key("P-256").as_pem(private=True).decode(),
    )
    auth_app, consent_app = create_app(settings), create_consent_app(consent_settings)
    engine = create_engine(settings.database_url)
    async with served(auth_app, auth_sock), served(consent_app, consent_sock):
        transport = httpx.ASGITransport(app=auth_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield SocialAuth(http, engine, settings, evil, other, auth_app.state.runtime,
                             consent_url=consent_url)  # fmt: skip
    await engine.dispose()


@pytest.fixture
async def social(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    evil_providers: tuple[EvilProvider, EvilProvider],
    google: Google | None,
    mailbox: Any,  # the auth tests' SMTP server (../conftest.py)
) -> AsyncIterator[SocialAuth]:
    async with social_auth(
        fresh_database, kafka_bootstrap, redis_url, topic_prefix, evil_providers, google, mailbox
    ) as auth:
        yield auth


@pytest.fixture
async def social_userinfo(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    evil_providers: tuple[EvilProvider, EvilProvider],
    google_userinfo: Google | None,
    mailbox: Any,
) -> AsyncIterator[SocialAuth]:
    """`social` whose "google" keeps the claims out of the ID token (only at userinfo)."""
    if google_userinfo is None:
        pytest.skip("Node.js or tests/idp/node_modules missing (make node-deps)")
    async with social_auth(
        fresh_database, kafka_bootstrap, redis_url, topic_prefix, evil_providers,
        google_userinfo, mailbox,
    ) as auth:  # fmt: skip
        yield auth


@asynccontextmanager
async def social_auth(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    evil_providers: tuple[EvilProvider, EvilProvider],
    google: Google | None,
    mailbox: Any,
) -> AsyncIterator[SocialAuth]:
    evil, other = evil_providers
    for provider in (evil, other):
        provider.mode, provider.issuer_in_discovery, provider.userinfo = "ok", None, None
    providers = [
        evil.config("evil"),
        other.config("other"),
        evil.config("evilpost") | {"response_mode": "form_post"},
        # Apple's ways (form_post, the name in the posted `user` field) with our keys.
        evil.config("evilapple") | {"response_mode": "form_post", "name_in_user_param": True},
    ]
    if google is not None:
        providers.append(google_config(google))
    url = await fresh_database("ciam_auth.migrations")
    settings = AuthSettings(
        issuer=ISSUER,
        key_encryption_secret=secrets.token_urlsafe(32),
        social_providers=providers,
        # Well under the slow provider's delay, well over what a loaded machine needs.
        social_timeout_s=3.0,
        smtp_port=mailbox.port,
        **settings_kwargs(url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=topic_prefix),
    )
    engine = create_engine(url)
    app = create_app(settings)
    async with running(app) as http:
        yield SocialAuth(http, engine, settings, evil, other, app.state.runtime, app=app)
    await engine.dispose()
