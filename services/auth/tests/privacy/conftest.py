"""The auth service with a real consent service behind its privacy page: both served on
loopback sockets, since each calls the other over HTTP (the consent service reads auth's
JWKS to verify the page's customer tokens; the page calls the consent API)."""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from joserfc.jwk import ECKey
from sqlalchemy import text

from ciam_auth.main import create_app
from ciam_auth.oidc.service.first_party import customer_token
from ciam_auth.sessions.store import COOKIE
from ciam_auth.settings import AuthSettings
from ciam_consent.main import create_app as create_consent_app
from ciam_consent.settings import ConsentSettings
from ciam_devtools.devstack import free_port
from ciam_devtools.testing.plugin import settings_kwargs
from ciam_shared.db import create_engine
from ciam_shared.tokens.scopes import MY_CONSENTS_READ, MY_CONSENTS_WRITE

ISSUER = "http://auth.test"
OURS = "https://testserver"  # the test client's origin (https: the cookies are Secure)


@dataclass
class Privacy:
    http: httpx.AsyncClient
    runtime: Any
    consent_url: str
    database_url: str
    consent_database_url: str = ""
    mailbox: Any = None
    kafka: str = ""
    topic_prefix: str = ""
    app: Any = None
    # Where the auth service listens on loopback (for a real browser).
    auth_url: str = ""

    def other_browser(self) -> httpx.AsyncClient:
        """Another browser (its own cookies, nobody signed in) on the same auth service."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=OURS)

    def token(self, account_id: uuid.UUID, *scopes: str) -> str:
        """A customer token of auth's own pages, as the page signs it."""
        return customer_token(self.runtime.parts.provider.issuer, account_id, scopes)

    def admin_token(self) -> str:
        """An operator's client-credentials token with the consent service's admin scope."""
        token, _ = self.runtime.parts.provider.issuer.access_token(
            sub="ops", client_id="ops", scope="consent:admin"
        )
        return str(token)

    async def sign_in(self, email: str | None = None) -> uuid.UUID:
        """A signed-in customer (an account row only when the test opens /account too)."""
        account_id = uuid.uuid4()
        if email is not None:
            engine = create_engine(self.database_url)
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO accounts (id, email, password_hash, created_at, "
                         "email_verified_at) VALUES (:id, :email, 'unused', now(), now())"),
                    {"id": account_id, "email": email},
                )  # fmt: skip
            await engine.dispose()
        session = await self.runtime.parts.sessions.create(
            account_id, device="test", channel="web", amr=["pwd"]
        )
        self.http.cookies.set(COOKIE, session.secret)
        return account_id

    async def set_locale(self, account_id: uuid.UUID, locale: str) -> None:
        engine = create_engine(self.database_url)
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE accounts SET locale = :locale WHERE id = :id"),
                {"id": account_id, "locale": locale},
            )
        await engine.dispose()

    async def consents_at_consent_service(self, account_id: uuid.UUID) -> dict[str, str]:
        """The customer's purpose-wide choices, read back through the consent API."""
        issuer = self.runtime.parts.provider.issuer
        token = customer_token(issuer, account_id, [MY_CONSENTS_READ])
        async with httpx.AsyncClient(base_url=self.consent_url) as consent:
            response = await consent.get(
                f"/v1/subjects/{account_id}/consents",
                headers={"authorization": f"Bearer {token}"},
            )
        if response.status_code == 404:
            return {}
        assert response.status_code == 200, response.text
        return {
            c["purpose"]: c["status"]
            for c in response.json()["consents"]
            if c["brand"] is None and c["channel"] is None
        }

    async def record_at_consent_service(
        self, account_id: uuid.UUID, changes: list[dict[str, Any]], collected_via: str = "web"
    ) -> None:
        """Choices made elsewhere (a social sign-in, an app), straight through the consent API."""
        issuer = self.runtime.parts.provider.issuer
        token = customer_token(issuer, account_id, [MY_CONSENTS_WRITE])
        async with httpx.AsyncClient(base_url=self.consent_url) as consent:
            response = await consent.post(
                f"/v1/subjects/{account_id}/consents",
                json={"changes": changes, "collected_via": collected_via},
                headers={"authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200, response.text

    async def all_at_consent_service(
        self, account_id: uuid.UUID
    ) -> dict[tuple[str, str | None], str]:
        """Every record, purpose-wide or per channel: (purpose, channel) -> status."""
        issuer = self.runtime.parts.provider.issuer
        token = customer_token(issuer, account_id, [MY_CONSENTS_READ])
        async with httpx.AsyncClient(base_url=self.consent_url) as consent:
            response = await consent.get(
                f"/v1/subjects/{account_id}/consents",
                headers={"authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200, response.text
        return {(c["purpose"], c["channel"]): c["status"] for c in response.json()["consents"]}

    async def history_at_consent_service(self, account_id: uuid.UUID) -> list[dict[str, Any]]:
        issuer = self.runtime.parts.provider.issuer
        token = customer_token(issuer, account_id, [MY_CONSENTS_READ])
        async with httpx.AsyncClient(base_url=self.consent_url) as consent:
            response = await consent.get(
                f"/v1/subjects/{account_id}/history",
                headers={"authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def state_of(html: str, purpose: str) -> str:
    """The state a purpose's card shows (its `data-state`)."""
    card = re.search(rf'<article class="purpose" id="purpose-{purpose}".*?</article>', html, re.S)
    assert card, html
    state = re.search(r'data-state="([a-z_]+)"', card.group(0))
    assert state, card.group(0)
    return state.group(1)


@asynccontextmanager
async def served(app: Any, sock: socket.socket) -> AsyncIterator[None]:
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


def _auth_settings(
    database_url: str, consent_url: str, smtp_port: int | None = None, **common: str
) -> AuthSettings:
    return AuthSettings(
        issuer=ISSUER,
        key_encryption_secret=secrets.token_urlsafe(32),
        consent_url=consent_url,
        # The mailbox's port (double opt-in), else one nobody listens on.
        smtp_port=smtp_port or free_port(),
        **settings_kwargs(database_url, **common),
    )


@pytest.fixture
async def privacy(
    fresh_database: Any, kafka_bootstrap: str, redis_url: str, topic_prefix: str, mailbox: Any
) -> AsyncIterator[Privacy]:
    auth_sock, auth_url = loopback_socket()
    consent_sock, consent_url = loopback_socket()
    common = {"kafka": kafka_bootstrap, "redis": redis_url, "topic_prefix": topic_prefix}
    auth_db = await fresh_database("ciam_auth.migrations")
    consent_db = await fresh_database("ciam_consent.migrations")
    consent_settings = ConsentSettings(
        **settings_kwargs(consent_db, **common),
        token_issuer=ISSUER,
        token_jwks_url=f"{auth_url}/.well-known/jwks.json",
        receipt_signing_key=ECKey.generate_key("P-256").as_pem(private=True).decode(),
    )
    auth_app = create_app(_auth_settings(auth_db, consent_url, mailbox.port, **common))
    consent_app = create_consent_app(consent_settings)
    async with served(auth_app, auth_sock), served(consent_app, consent_sock):
        transport = httpx.ASGITransport(app=auth_app)
        async with httpx.AsyncClient(transport=transport, base_url=OURS) as http:
            yield Privacy(
                http,
                auth_app.state.runtime,
                consent_url,
                auth_db,
                consent_database_url=consent_db,
                mailbox=mailbox,
                kafka=kafka_bootstrap,
                topic_prefix=topic_prefix,
                app=auth_app,
                auth_url=auth_url,
            )


@pytest.fixture
async def privacy_without_consent(
    fresh_database: Any, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> AsyncIterator[Privacy]:
    """The consent service down: nothing listens at its address."""
    consent_url = f"http://127.0.0.1:{free_port()}"
    common = {"kafka": kafka_bootstrap, "redis": redis_url, "topic_prefix": topic_prefix}
    auth_db = await fresh_database("ciam_auth.migrations")
    app = create_app(_auth_settings(auth_db, consent_url, **common))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=OURS) as http:
            yield Privacy(http, app.state.runtime, consent_url, auth_db)
