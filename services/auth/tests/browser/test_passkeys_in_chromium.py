"""Passkeys and the email code in the system's Chromium, with a virtual authenticator over the
DevTools protocol (resident keys, user verification): enrol after a password sign-in, sign out,
sign in by autofill (conditional UI), sign in to an app through OIDC asking for `acr=phr`,
remove the passkey; an authenticator whose passkey is not registered is refused. The email
code: requested on the page, read from the caught mail, typed; reused and expired refused.

WebAuthn needs a secure context and an RP id that is the host the browser sees: the service
runs at http://localhost:<port> (a secure context) with that as its public URL."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.async_api import Error as PlaywrightError
from sqlalchemy import text, update

from ciam_auth.main import create_app
from ciam_auth.models import EmailToken
from ciam_auth.oidc.service import clients
from ciam_auth.settings import AuthSettings
from ciam_devtools.devstack import free_port
from ciam_devtools.devstack.mailsink.server import MailSink
from ciam_devtools.testing.mail import newest_mail_id, wait_for_mail
from ciam_devtools.testing.plugin import eventually, settings_kwargs
from ciam_devtools.testing.servers import LoopbackServer
from ciam_shared.db import unit_of_work

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "ada@example.com", "a long pass phrase 1"
REDIRECT = "https://shop.example.com/callback"


@dataclass
class Site:
    url: str  # http://localhost:<port>
    server: LoopbackServer
    sink: MailSink

    @property
    def runtime(self) -> Any:
        return self.server.app.state.runtime

    async def account(self) -> None:
        passwords = self.runtime.parts.context.passwords
        async with unit_of_work(self.runtime.sessions) as session:
            await session.execute(
                text(
                    "INSERT INTO accounts (id, email, password_hash, created_at, email_verified_at)"
                    " VALUES (:id, :email, :hash, now(), now())"
                ),
                {"id": uuid.uuid4(), "email": EMAIL, "hash": await passwords.hash(PASSWORD)},
            )

    async def app_client(self) -> tuple[str, str]:
        spec = clients.ClientSpec(
            name="Shop",
            brand="acme",
            redirect_uris=[REDIRECT],
            post_logout_redirect_uris=[],
            purposes=[],
            scopes=["openid", "email"],
            grant_types=["authorization_code"],
            auth_method="client_secret_basic",
            first_party=True,
        )
        async with unit_of_work(self.runtime.sessions) as session:
            client, secret = await clients.register(
                session, spec, topic_prefix=self.runtime.parts.context.topic_prefix
            )
        assert secret is not None
        return client.client_id, secret


@pytest.fixture
async def site(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    tmp_path: Path,
) -> AsyncIterator[Site]:
    port = free_port()
    async with MailSink(tmp_path / "mail", smtp_port=free_port(), web_port=free_port()) as sink:
        settings = AuthSettings(
            issuer=f"http://localhost:{port}",
            public_url=f"http://localhost:{port}",
            key_encryption_secret=secrets.token_urlsafe(32),
            consent_url=f"http://127.0.0.1:{free_port()}",
            smtp_port=sink.smtp_port,
            queue_poll_seconds=0.2,
            **settings_kwargs(
                await fresh_database("ciam_auth.migrations"),
                kafka=kafka_bootstrap,
                redis=redis_url,
                topic_prefix=topic_prefix,
            ),
        )
        server = LoopbackServer(lambda: create_app(settings), port)
        await server.start()
        try:
            created = Site(f"http://localhost:{port}", server, sink)
            await created.account()
            yield created
        finally:
            await server.stop()


async def virtual_authenticator(context: Any, page: Any) -> tuple[Any, str]:
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def at(path: str) -> Any:
    """A URL test for wait_for_url: this path (a glob would also match a `return_to=` query)."""
    return lambda url: urlsplit(url).path == path


async def presence(cdp: Any, authenticator: str, *, on: bool) -> None:
    await cdp.send(
        "WebAuthn.setAutomaticPresenceSimulation",
        {"authenticatorId": authenticator, "enabled": on},
    )


async def signed_in_email(page: Any, url: str) -> str | None:
    answer = await page.request.get(url + "/v1/me")
    return str((await answer.json())["email"]) if answer.status == 200 else None


async def test_a_passkey_from_enrolment_to_removal(browser: Any, site: Site) -> None:
    context = await browser.new_context(locale="en-GB")
    try:
        page = await context.new_page()
        cdp, authenticator = await virtual_authenticator(context, page)

        # A password sign-in on a browser that can make passkeys: the offer, accepted.
        await page.goto(site.url + "/login?return_to=/account")
        await page.fill("#email", EMAIL)
        await page.fill("#password", PASSWORD)
        await page.wait_for_selector("form[data-passkey-offer=armed]", state="attached")
        await page.click("form[data-offer-passkey] button[type=submit]")
        await page.wait_for_url("**/passkeys/offer**")
        await page.click("[data-passkey-add]")
        await page.wait_for_url(at("/account"))
        stored = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert len(stored["credentials"]) == 1 and stored["credentials"][0]["isResidentCredential"]
        assert await page.locator("#passkeys-title").count() == 1
        assert await page.locator("form[action$='/remove']").count() == 1

        # Sign out, then sign in from the email field's autofill (conditional mediation). The
        # virtual authenticator answers a pending autofill request as soon as presence is
        # simulated: off, the request waits as it does for a customer who has not picked yet.
        await presence(cdp, authenticator, on=False)
        await page.click("form[action='/logout'] button")
        await page.wait_for_url(at("/signed-out"))  # sign-out ends on a page that says so
        assert await signed_in_email(page, site.url) is None
        # The page's autofill request starts at load; with presence on, the virtual
        # authenticator answers it with its passkey (the customer's pick in the autofill).
        await presence(cdp, authenticator, on=True)
        await page.goto(site.url + "/login?return_to=/account")
        await page.wait_for_url(at("/account"), timeout=20_000)
        assert await signed_in_email(page, site.url) == EMAIL

        # An app asking for phishing-resistant authentication: a passkey only, then the code.
        await presence(cdp, authenticator, on=False)
        await page.click("form[action='/logout'] button")
        await page.wait_for_url(at("/signed-out"))  # sign-out ends on a page that says so
        client_id, secret = await site.app_client()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = {
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "openid email",
            "state": "s1",
            "nonce": "n1",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "acr_values": "phr",
        }
        await page.goto(site.url + "/authorize?" + urlencode(query))
        assert await page.locator("#password").count() == 0  # a passkey, nothing else
        await presence(cdp, authenticator, on=True)
        # The app is not there (no such host here): the redirect's request is what counts.
        async with page.expect_request(lambda r: r.url.startswith(REDIRECT)) as sent:
            await page.click("[data-passkey-button]")
        code = parse_qs(urlsplit((await sent.value).url).query)["code"][0]
        async with httpx.AsyncClient(base_url=site.url) as http:
            tokens = await http.post(
                "/token",
                data={"grant_type": "authorization_code", "code": code,
                      "redirect_uri": REDIRECT, "code_verifier": verifier},
                auth=(client_id, secret),
            )  # fmt: skip
            assert tokens.status_code == 200, tokens.text
            keys = KeySet.import_key_set((await http.get("/.well-known/jwks.json")).json())
        claims = jwt.decode(tokens.json()["id_token"], keys, algorithms=["ES256"]).claims
        assert claims["acr"] == "phr" and claims["amr"] == ["pop", "user", "mfa"]

        # Remove it on the account page: the passkey no longer signs in.
        await goto_after_failed_navigation(page, site.url + "/account")
        await page.click("form[action$='/remove'] button")
        await page.wait_for_url("**/account?done=passkey-removed")
        assert await page.locator("form[action$='/remove']").count() == 0
        await page.click("form[action='/logout'] button")
        await page.wait_for_url(at("/signed-out"))
        await page.goto(site.url + "/login")
        # The autofill offers the removed passkey still kept by the authenticator: refused.
        await page.wait_for_selector("[data-passkey-error]:not([hidden])")
        assert await signed_in_email(page, site.url) is None
    finally:
        await context.close()


async def goto_after_failed_navigation(page: Any, url: str) -> None:
    """`page.goto`, once more if Chromium's error page for the previous navigation (the app's
    redirect URI, a host that does not resolve here) commits meanwhile and interrupts it (CI
    once saw "interrupted by another navigation to chrome-error://chromewebdata/")."""
    for attempt in (1, 2, 3):
        try:
            await page.goto(url)
            return
        except PlaywrightError as exc:
            if "interrupted by another navigation" not in str(exc) or attempt == 3:
                raise


async def test_a_passkey_this_site_never_registered_is_refused(browser: Any, site: Site) -> None:
    context = await browser.new_context(locale="pl-PL")
    try:
        page = await context.new_page()
        cdp, authenticator = await virtual_authenticator(context, page)
        # A resident passkey for this RP id that was never registered here.
        key = ec.generate_private_key(ec.SECP256R1())
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        await cdp.send(
            "WebAuthn.addCredential",
            {
                "authenticatorId": authenticator,
                "credential": {
                    "credentialId": base64.b64encode(secrets.token_bytes(16)).decode(),
                    "isResidentCredential": True,
                    "rpId": "localhost",
                    "privateKey": base64.b64encode(pkcs8).decode(),
                    "userHandle": base64.b64encode(uuid.uuid4().bytes).decode(),
                    "signCount": 0,
                },
            },
        )
        await page.goto(site.url + "/login?return_to=/account")
        await page.click("[data-passkey-button]")
        await page.wait_for_selector("[data-passkey-error]:not([hidden])")
        assert await signed_in_email(page, site.url) is None
        assert await page.locator("[data-passkey-error]").inner_text() == (
            "Klucz dostępu nie został przyjęty. Spróbuj ponownie."
        )
    finally:
        await context.close()


async def test_the_email_code_signs_in_once_and_not_after_it_expired(
    browser: Any, site: Site
) -> None:
    context = await browser.new_context(locale="en-GB")
    try:
        page = await context.new_page()
        mail_text: list[str] = []

        async def request_code() -> str:
            mark = await newest_mail_id(site.sink.url)
            await page.goto(site.url + "/login?return_to=/account")
            await page.click("a[href^='/login/email-code']")
            await page.fill("#email", EMAIL)
            await page.click("form button[type=submit]")
            await page.wait_for_selector("#code")
            mail = await wait_for_mail(site.sink.url, EMAIL, "sign-in code", newer_than=mark)
            found = re.search(r"\b(\d{6})\b", mail["text"])
            assert found, mail["text"]
            mail_text.insert(0, mail["text"])
            return found.group(1)

        code = await request_code()
        await page.fill("#code", code)
        await page.click("form button[type=submit]")
        await page.wait_for_url(at("/account"))
        assert await signed_in_email(page, site.url) == EMAIL

        # The same code again, signed out: refused; and its link too (one code, one use).
        await page.click("form[action='/logout'] button")
        await page.wait_for_url(at("/signed-out"))  # sign-out ends on a page that says so
        await page.goto(site.url + "/login/email-code")
        csrf = await page.locator("input[name=csrf]").get_attribute("value")
        again = await page.request.post(
            site.url + "/login/email-code/verify",
            form={"email": EMAIL, "code": code, "csrf": csrf or "", "return_to": "/account"},
            max_redirects=0,
        )
        assert again.status == 400
        link = re.search(r"(/login/email-code/confirm\?\S+)", mail_text[0])
        assert link, mail_text[0]
        await page.goto(site.url + link.group(1))
        await page.click("form button[type=submit]")
        await page.wait_for_selector(".error")
        assert await signed_in_email(page, site.url) is None

        # A new code that expired before it was typed: refused.
        code = await request_code()
        async with unit_of_work(site.runtime.sessions) as session:
            await session.execute(
                update(EmailToken)
                .where(EmailToken.used_at.is_(None))
                .values(expires_at=EmailToken.created_at)
            )
        await page.fill("#code", code)
        await page.click("form button[type=submit]")
        await page.wait_for_selector(".error")
        assert await signed_in_email(page, site.url) is None

        async def jobs_done() -> bool:
            return bool(await site.runtime.parts.context.jobs.idle())

        await eventually(jobs_done)
    finally:
        await context.close()
