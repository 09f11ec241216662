"""Pre-account hijacking through the mailed social-link confirmation (issue 12, section 2).

The chain: an attacker registers the victim's address with a password and never confirms
it; the victim signs in with a provider that vouches for the address. Before, the victim was
offered a link mailed to "their" account, which linked their identity to the attacker's
registration (the attacker keeps the password); once the victim also opened the registration
mail, the attacker signed in to the victim's linked account. Now the verified identity takes
the address over: the registration goes with its password, sessions, links and codes
(docs/security.md, "Pre-hijacking")."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import pytest
from sqlalchemy import text

from ciam_auth.models import Account
from ciam_auth.sessions.store import COOKIE
from ciam_auth.social.flow import Pending
from ciam_auth.social.mail_offer import eligible

from .conftest import ISSUER, SocialAuth
from .test_google import through_google

ATTACKER_PASSWORD = "attacker's own password 123"
DELETED = "dev.ciam.identity.user.deleted.v1"
VERIFIED = "dev.ciam.identity.email.verified.v1"


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def token_in(message: Message) -> str:
    found = re.search(r"token=([A-Za-z0-9_-]+)", body_of(message))
    assert found, body_of(message)
    return found.group(1)


def code_in(message: Message) -> str:
    found = re.search(r"\b(\d{6})\b", body_of(message))
    assert found, body_of(message)
    return found.group(1)


async def accounts_with(social: SocialAuth, email: str) -> list[tuple[uuid.UUID, Any, Any]]:
    async with social.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id, password_hash, email_verified_at FROM accounts WHERE email = :e"),
            {"e": email},
        )
        return [(r[0], r[1], r[2]) for r in rows]


async def deleted_subjects(social: SocialAuth) -> list[str]:
    async with social.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT payload FROM outbox WHERE event_type = :t"), {"t": DELETED}
        )
        return [str(r[0]) for r in rows]


async def test_the_verified_identity_takes_over_an_unconfirmed_registration_end_to_end(
    social: SocialAuth, mailbox: Any
) -> None:
    if social.settings.social_providers[-1].id != "google":
        pytest.skip("Node.js or tests/idp/node_modules missing (make node-deps)")
    store = social.runtime.parts.sessions
    async with social.other_browser() as attacker:
        # 1. The attacker registers ada@example.com with a password, and never confirms it:
        #    the confirmation mail lands in Ada's mailbox.
        registered = await attacker.post(
            "/v1/accounts", json={"email": "ada@example.com", "password": ATTACKER_PASSWORD}
        )
        assert registered.status_code == 202, registered.text
        confirmation = await mailbox.wait_for("ada@example.com")
        [(registration, password_hash, verified_at)] = await accounts_with(
            social, "ada@example.com"
        )
        assert password_hash is not None and verified_at is None
        # Whatever way it got one, the registration holds a session of the attacker's.
        held = await store.create(registration, device="attacker", channel="web", amr=["pwd"])

        # 2. Ada signs in with Google, which vouches for ada@example.com.
        start = await social.http.get("/login/social/google", params={"return_to": "/shop"})
        callback = await through_google(start.headers["location"], "ada")
        asked = await social.http.get(callback.removeprefix(ISSUER))
        assert asked.headers["location"] == "/login/social/continue"
        page = await social.http.get("/login/social/continue")
        assert page.status_code == 200, page.text
        # Not "sign in to that account or get a link mailed to it": the first sign-in page,
        # telling Ada the unconfirmed registration goes.
        assert "/login/social/continue/mail" not in page.text and "Send me" not in page.text
        assert 'data-notice="takeover"' in page.text and "ada@example.com" in page.text
        done = await social.answer(("name",))
        assert done.status_code == 303 and done.headers["location"] == "/shop", done.text
        ada = await social.signed_in_account()
        assert ada is not None and ada != registration

        # Ada's account holds the address, verified, with no password; the registration is
        # gone, and the other services are told to forget its subject.
        [(owner, password_hash, verified_at)] = await accounts_with(social, "ada@example.com")
        assert owner == ada and password_hash is None and verified_at is not None
        assert any(str(registration) in payload for payload in await deleted_subjects(social))
        assert await social.count("linked_identities") == 1
        # Ada is told, at the address Google vouched for.
        told = await mailbox.wait_for("ada@example.com", count=2)
        assert "Google" in str(told["Subject"]) and "password" in body_of(told)

        # 3. The attacker's session is gone...
        assert await store.get_by_secret(held.secret) is None
        attacker.cookies.set(COOKIE, held.secret)
        assert (await attacker.get("/v1/me/identities")).status_code == 401
        attacker.cookies.clear()
        # ...and the attacker's password signs in to nothing.
        sign_in = {"email": "ada@example.com", "password": ATTACKER_PASSWORD}
        refused = await attacker.post("/v1/sessions", json=sign_in)
        assert refused.status_code == 401, refused.text

        # 4. Later Ada opens the confirmation mail of the attacker's registration: the link
        #    and the code are dead, and they hand the attacker nothing.
        by_link = await social.http.post(
            "/v1/email-verifications", json={"token": token_in(confirmation)}
        )
        assert by_link.status_code == 400, by_link.text
        by_code = await social.http.post(
            "/v1/email-verifications",
            json={"email": "ada@example.com", "code": code_in(confirmation)},
        )
        assert by_code.status_code == 400, by_code.text
        assert (await attacker.post("/v1/sessions", json=sign_in)).status_code == 401
        assert "ciam_session" not in attacker.cookies
        [(owner, password_hash, _)] = await accounts_with(social, "ada@example.com")
        assert owner == ada and password_hash is None

    # Ada comes back with Google: her account, one click.
    social.http.cookies.clear()
    again = await social.http.get("/login/social/google", params={"return_to": "/shop"})
    back = await social.http.get(
        (await through_google(again.headers["location"], "ada")).removeprefix(ISSUER)
    )
    assert back.headers["location"] == "/shop"
    assert await social.signed_in_account() == ada


async def test_an_unconfirmed_registration_is_never_sent_a_link(social: SocialAuth) -> None:
    registration = await social.password_account("eve-target@example.com", verified=False)
    request = await social.start("evil", return_to="/welcome")
    token = social.evil.sign(social.evil.claims(request["nonce"], sub="target-1",
                                                email="eve-target@example.com"))  # fmt: skip
    await social.callback(request, token)
    continue_page = await social.http.get("/login/social/continue")
    # The first sign-in page (which fields to import), not "prove it is your account".
    assert 'name="decision"' in continue_page.text
    assert "Send me a confirmation link" not in continue_page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', continue_page.text)
    assert csrf, continue_page.text
    # Posting the mail form anyway sends nothing: back to the page, no "sent" page.
    sent = await social.http.post("/login/social/continue/mail", data={"csrf_token": csrf.group(1)})
    assert sent.status_code == 303 and sent.headers["location"] == "/login/social/continue"
    assert [a[0] for a in await accounts_with(social, "eve-target@example.com")] == [registration]


def test_the_mail_offer_refuses_an_account_whose_address_is_unverified() -> None:
    pending = Pending(
        provider="evil", issuer="https://idp", subject="s", email="x@example.com",
        email_verified=True, offered={}, return_to="/", mode="signin", binding="b",
        account_id=str(uuid.uuid4()), kind="link",
    )  # fmt: skip
    account = Account(email="x@example.com", password_hash="h", email_verified_at=None)
    assert not eligible(pending, account)
    account.email_verified_at = datetime.now(UTC)
    assert eligible(pending, account)


async def test_a_registration_made_while_the_customer_chooses_is_taken_over_too(
    social: SocialAuth, mailbox: Any
) -> None:
    request = await social.start("evil", return_to="/welcome")
    token = social.evil.sign(social.evil.claims(request["nonce"], sub="race-1",
                                                email="race@example.com"))  # fmt: skip
    assert (await social.callback(request, token)).headers["location"] == "/login/social/continue"
    # Between the callback and the answer someone registers the address with a password.
    registration = await social.password_account("race@example.com", verified=False)
    done = await social.answer()
    assert done.status_code == 303 and done.headers["location"] == "/welcome", done.text
    customer = await social.signed_in_account()
    [(owner, password_hash, verified_at)] = await accounts_with(social, "race@example.com")
    assert owner == customer != registration
    assert password_hash is None and verified_at is not None
    told = await mailbox.wait_for("race@example.com")
    assert "Evil" in str(told["Subject"])
