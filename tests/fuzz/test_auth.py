"""Schemathesis over the auth service's OpenAPI document: no 5xx, and every answer as the
document says (status code, content type, body).

Auth verifies its own tokens, so the callers' tokens come from the service under test: an
operator client and an app client (client credentials, `sub` == `client_id`) and a customer's
token issued by the provider for the app, with the customer's browser session cookie for the
account API. Left out: deleting clients (an operator's deletion would end the run's own
callers) and the customer deleting their account (every later customer request would be 401);
the customer signs in afresh for every request, since a generated request may sign them out.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from ciam_auth.main import create_app
from ciam_auth.oidc.provider import Provider
from ciam_auth.oidc.service import clients
from ciam_auth.sessions.store import COOKIE
from ciam_auth.settings import AuthSettings
from ciam_devtools.devstack import free_port
from ciam_devtools.testing.fuzz import Caller, Fuzz, Target
from ciam_devtools.testing.plugin import running, settings_kwargs
from ciam_shared.db import create_engine, unit_of_work
from ciam_shared.tokens import scopes

from .conftest import REPORTS, STATIC

SECRET = secrets.token_urlsafe(32)
FUZZ = Fuzz(
    create_app(AuthSettings(**STATIC, key_encryption_secret=SECRET)).openapi(),
    exclude={"DELETE /v1/admin/clients/{client_id}", "DELETE /v1/me"},
    # The OAuth endpoints answer errors as RFC 6749 JSON, the pages as HTML and redirects: the
    # document does not describe those answers yet, so they are held to "no 5xx" only.
    only_no_5xx={
        "GET /authorize",
        "POST /authorize",
        "POST /authorize/consent",
        "POST /token",
        "POST /introspect",
        "POST /revoke",
        "GET /userinfo",
        "POST /userinfo",
        "GET /end-session",
        "POST /end-session",
        "GET /login/social/confirm",
        "POST /login/social/confirm",
        "GET /login/social/continue",
        "POST /login/social/continue",
        "POST /login/social/continue/mail",
        "GET /login/social/{provider_id}",
        "GET /login/social/{provider_id}/callback",
        "POST /login/social/{provider_id}/callback",
    },
)
CUSTOMER_SCOPES = ["openid", "email", "profile", *sorted(scopes.CUSTOMER_SCOPES)]


async def _client_token(
    http: httpx.AsyncClient, sessions: Any, prefix: str, **spec: Any
) -> tuple[str, str]:
    """Register a client-credentials client; its id and an access token of it."""
    values: dict[str, Any] = {
        "brand": "acme", "redirect_uris": [], "post_logout_redirect_uris": [], "purposes": [],
        "grant_types": ["client_credentials"], "auth_method": "client_secret_basic",
        "first_party": False,
    } | spec  # fmt: skip
    async with unit_of_work(sessions) as session:
        client, secret = await clients.register(
            session, clients.ClientSpec(**values), topic_prefix=prefix
        )
    assert secret is not None
    response = await http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
    )
    assert response.status_code == 200, response.text
    return client.client_id, str(response.json()["access_token"])


@pytest.fixture(scope="module")
async def auth(
    module_database: Callable[[str], Any],
    module_prefix: str,
    kafka_bootstrap: str,
    redis_url: str,
) -> AsyncIterator[Target]:
    url = await module_database("ciam_auth.migrations")
    settings = AuthSettings(
        **settings_kwargs(url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=module_prefix),
        issuer="http://auth.test",
        public_url="http://auth.test",
        key_encryption_secret=SECRET,
        smtp_port=free_port(),  # nobody listens: mails wait in the queue, as they may
    )
    engine = create_engine(url)
    app = create_app(settings)
    async with running(app) as http:
        runtime = app.state.runtime

        setup = (http, runtime.sessions, module_prefix)
        _, operator = await _client_token(
            *setup, name="ops", brand=None, scopes=[scopes.AUTH_ADMIN]
        )
        app_id, app_token = await _client_token(*setup, name="Shop", scopes=[scopes.AUTH_CONTACTS])
        customer = uuid.uuid4()
        passwords = runtime.parts.context.passwords
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO accounts (id, email, password_hash, created_at, email_verified_at)"
                    " VALUES (:id, :email, :hash, now(), now())"
                ),
                {"id": customer, "email": "fuzz@example.com",
                 "hash": await passwords.hash("a long pass 1")},
            )  # fmt: skip
        store = runtime.parts.sessions
        provider: Provider = runtime.parts.provider

        async def signed_in() -> dict[str, str]:
            """A new browser session and a token of it for every request: a generated
            request may sign the customer out (end-session, DELETE /v1/sessions/current)."""
            browser = await store.create(customer, device="fuzz", channel="web", amr=["pwd"])
            token, _ = provider.issuer.access_token(
                sub=str(customer), client_id=app_id, scope=" ".join(CUSTOMER_SCOPES),
                sid=browser.id,
            )  # fmt: skip
            return {"authorization": f"Bearer {token}", "cookie": f"{COOKIE}={browser.secret}"}

        target = Target(
            http,
            [
                Caller("operator", {"authorization": f"Bearer {operator}"}),
                Caller("app", {"authorization": f"Bearer {app_token}"}),
                Caller("customer", signed_in),
                Caller("anonymous"),
            ],
            known={
                "client_id": [app_id],
                "subject_id": [str(customer)],
                "email": ["fuzz@example.com"],
                "scope": [" ".join(CUSTOMER_SCOPES)],
                "grant_type": ["client_credentials", "authorization_code", "refresh_token"],
            },
        )
        REPORTS["auth"] = target
        yield target
    await engine.dispose()


@pytest.mark.parametrize("label", FUZZ.labels)
@FUZZ.settings
@given(data=st.data())
async def test_auth_answers_as_documented(auth: Target, label: str, data: Any) -> None:
    await FUZZ.exercise(auth, label, data)
