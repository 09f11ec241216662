"""Certified relying parties sign a customer in against the auth service running as its own
process: Authlib's OAuth client (Python) and openid-client (OpenID Certified, Node). Each
completes code + PKCE, refresh and RP-initiated logout; the test plays the browser."""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess, eventually

pytestmark = pytest.mark.e2e
RP_DIR = Path(__file__).parent / "rp"
CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: the browser stops at the redirect
BYE = "http://127.0.0.1:9/bye"
PASSWORD = "a long and unusual passphrase 42"


@dataclass
class Provider:
    url: str
    env: dict[str, str]

    async def cli(self, *args: str) -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ciam_auth.cli", *args,
            env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return dict(json.loads(out.decode().strip().splitlines()[-1]))

    async def relying_party(self) -> dict[str, Any]:
        return await self.cli(
            "create-client", "--name", "Shop", "--first-party", "--redirect-uri", CALLBACK,
            "--post-logout-redirect-uri", BYE, "--scope", "openid", "--scope", "email",
            "--scope", "offline_access",
            "--grant", "authorization_code", "--grant", "refresh_token",
        )  # fmt: skip


@pytest.fixture
async def provider(
    database_factory: DatabaseFactory, kafka_bootstrap: str, redis_url: str
) -> AsyncIterator[Provider]:
    db_url = await database_factory.create("ciam_auth.migrations")
    env = {
        "AUTH_DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": f"rp{secrets.token_hex(4)}.",
        "CIAM_ENVIRONMENT": "test",
        "AUTH_MIGRATE_ON_START": "false",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "AUTH_MAIL_DIR": tempfile.mkdtemp(),
    }
    service = ServiceProcess("auth", env, Path(tempfile.mkdtemp()))
    service.env |= {"AUTH_ISSUER": service.url}
    env |= {"AUTH_ISSUER": service.url}
    service.start()
    try:
        yield Provider(service.url, service.env | env)
    finally:
        service.stop()
        await database_factory.drop(db_url)


class Browser:
    """A customer's browser: keeps cookies, submits forms, stops at the relying party."""

    def __init__(self, base: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=base, timeout=10, event_hooks={"response": [self._loopback_is_secure]}
        )

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def _loopback_is_secure(self, response: httpx.Response) -> None:
        # Browsers treat http://127.0.0.1 as a secure context and send `Secure` cookies back
        # to it; httpx does not, so the cookies are unmarked here (loopback only).
        for cookie in self.http.cookies.jar:
            cookie.secure = False

    async def follow(self, url: str) -> httpx.Response:
        response = await self.http.get(url)
        while response.status_code in (302, 303) and not _at_rp(response):
            response = await self.http.get(urljoin(str(response.url), response.headers["location"]))
        return response

    async def sign_in(self, authorize_url: str, email: str) -> str:
        """Returns the callback URL the provider sends the browser to."""
        page = await self.follow(authorize_url)
        assert page.status_code == 200 and "<form" in page.text, page.text
        found = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text)
        form = {name: html.unescape(value) for name, value in found}  # as a browser reads it
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        target = urljoin(str(page.url), action.group(1) if action else str(page.url))
        response = await self.http.post(target, data=form | {"email": email, "password": PASSWORD})
        assert response.status_code == 303, response.text
        while not _at_rp(response):
            location = urljoin(str(response.url), response.headers["location"])
            response = await self.http.get(location)
            assert response.status_code in (302, 303), response.text
        return str(response.headers["location"])


def _at_rp(response: httpx.Response) -> bool:
    return response.headers.get("location", "").startswith("http://127.0.0.1:9/")


async def register(provider: Provider) -> str:
    """Register and confirm the address with the code from the mail (written as .eml files)."""
    email = f"rp-{secrets.token_hex(4)}@example.com"
    mail_dir = Path(provider.env["AUTH_MAIL_DIR"])
    async with httpx.AsyncClient(base_url=provider.url) as http:
        response = await http.post("/v1/accounts", json={"email": email, "password": PASSWORD})
        assert response.status_code == 202, response.text

        def read_code() -> str | None:
            for path in mail_dir.glob("*.eml"):
                text = path.read_text()
                if email in text and (found := re.search(r"\b(\d{6})\b", text)):
                    return found.group(1)
            return None

        async def code() -> str | None:
            return await asyncio.to_thread(read_code)

        sent = await eventually(code, timeout=30)
        verified = await http.post("/v1/email-verifications", json={"email": email, "code": sent})
        assert verified.status_code == 200, verified.text
    return email


async def test_authlib_signs_in_refreshes_and_logs_out(provider: Provider) -> None:
    rp = await provider.relying_party()
    email = await register(provider)
    async with httpx.AsyncClient() as plain:
        discovery = (await plain.get(f"{provider.url}/.well-known/openid-configuration")).json()
        keys = KeySet.import_key_set((await plain.get(discovery["jwks_uri"])).json())
    verifier = secrets.token_urlsafe(48)
    async with Browser(provider.url) as browser, AsyncOAuth2Client(
        rp["client_id"], rp["client_secret"], scope="openid email offline_access",
        redirect_uri=CALLBACK, code_challenge_method="S256",
    ) as oauth:  # fmt: skip
        nonce = secrets.token_urlsafe(8)
        url, state = oauth.create_authorization_url(
            discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        callback = await browser.sign_in(url, email)
        assert f"iss={provider.url}".replace(":", "%3A").replace("/", "%2F") in callback
        token = await oauth.fetch_token(
            discovery["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
        claims = jwt.decode(token["id_token"], keys, algorithms=["ES256"]).claims
        assert claims["nonce"] == nonce and claims["aud"] == rp["client_id"]
        assert claims["email"] == email
        info = (await oauth.get(discovery["userinfo_endpoint"])).json()
        assert info["sub"] == claims["sub"]
        refreshed = await oauth.refresh_token(
            discovery["token_endpoint"], refresh_token=token["refresh_token"]
        )
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert state
        logout = await browser.http.get(
            discovery["end_session_endpoint"],
            params={"id_token_hint": refreshed["id_token"], "post_logout_redirect_uri": BYE},
        )
        assert logout.status_code == 303 and logout.headers["location"] == BYE
        again = await browser.http.get(url)  # the session is over: sign in again
        assert again.status_code == 303 and again.headers["location"].startswith("/login")


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
async def test_openid_client_signs_in_refreshes_and_logs_out(provider: Provider) -> None:
    rp = await provider.relying_party()
    email = await register(provider)
    base = {
        "issuer": provider.url, "client_id": rp["client_id"], "client_secret": rp["client_secret"],
        "redirect_uri": CALLBACK, "post_logout": BYE,
    }  # fmt: skip
    start = await node("start", base)
    async with Browser(provider.url) as browser:
        callback = await browser.sign_in(start["url"], email)
        finished = await node("finish", base | start | {"callback": callback})
        assert finished["userinfo"]["email"] == email
        assert finished["refreshed"] is True
        logout = await browser.http.get(finished["logout"])
        assert logout.status_code == 303 and logout.headers["location"] == f"{BYE}?state=bye"
        again = await browser.http.get(start["url"])  # the session is over: sign in again
        assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def node(step: str, payload: dict[str, Any]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        "node", str(RP_DIR / "rp.mjs"), step, json.dumps(payload),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return dict(json.loads(out.decode()))
