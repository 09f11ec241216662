"""The authorisation model at auth (docs/security.md): admin scopes never for a customer,
customer scopes only for one, who the principal is before which scopes, a deleted app stopped
at once, and the first-party customer token of auth's own pages."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from ciam_auth import cli
from ciam_auth.models import OAuthClient, RefreshToken, outbox
from ciam_auth.oidc.grants import CodeGrant
from ciam_auth.oidc.repository import tokens
from ciam_auth.oidc.service import clients, first_party
from ciam_shared.db import unit_of_work, utcnow
from ciam_shared.tokens.scopes import CUSTOMER_SCOPES, FIRST_PARTY_CLIENT

from .conftest import REDIRECT, AuthService, Flow, RegisteredClient, pkce, redirect_query

ADMIN = "auth:admin consent:admin profile:admin"
CUSTOMER = "me:consents:read me:consents:write me:profile:read me:profile:write me:profile:export"


async def legacy_client(auth: AuthService, **overrides: Any) -> RegisteredClient:
    """A row as the old registration wrote it: an app with a redirect URI, the code grant and
    admin scopes (the registration paths refuse it now, so it goes straight to the table)."""
    values: dict[str, Any] = {
        "name": "Old app",
        "brand": "acme",
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": [],
        "scopes": ["openid", "offline_access", *ADMIN.split()],
        "purposes": [],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "auth_method": "client_secret_basic",
        "first_party": False,
    } | overrides
    client_id, secret = "app_legacy" + uuid.uuid4().hex[:8], "s" * 43
    now = utcnow()
    async with unit_of_work(auth.sessions) as session:
        session.add(
            OAuthClient(
                client_id=client_id,
                secret_hash=clients.secret_hash(secret),
                created_at=now,
                updated_at=now,
                **clients.columns(clients.ClientSpec(**values)),
            )
        )
    return RegisteredClient(client_id, secret)


async def app_token(auth: AuthService, client: RegisteredClient, scope: str | None = None) -> Any:
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    return await auth.http.post("/token", data=form, auth=client.basic())


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def staged_keys(auth: AuthService) -> list[str]:
    async with auth.engine.connect() as connection:
        return [r.key for r in await connection.execute(select(outbox.c.key))]


# --- 1. admin scopes: never through the code grant, operator clients only ---------------------


async def test_an_app_registered_with_admin_scopes_cannot_get_them_through_the_code_flow(
    auth: AuthService,
) -> None:
    legacy = await legacy_client(auth)
    await auth.sign_in(await auth.account())
    for asked in ("openid auth:admin", "openid consent:admin profile:admin"):
        response = await auth.authorize(legacy, Flow(*pkce()), scope=asked, ui_locales="pl")
        # Refused before any consent screen: a redirect with the error, no page, no code.
        assert response.status_code == 303, response.text
        query = redirect_query(response)
        assert query["error"] == "invalid_scope" and "code" not in query
        assert "admin" in query["error_description"]
    # Nor through client credentials: the client is no operator client (it has redirect URIs).
    assert "admin" not in (await app_token(auth, legacy)).json()["scope"]
    asked = await app_token(auth, legacy, "auth:admin")
    assert asked.status_code == 400 and asked.json()["error"] == "invalid_scope"
    assert "operator client" in asked.json()["error_description"]
    # The start-up warning names it for the operator to split (an operator client is fine).
    await auth.admin_token()
    async with unit_of_work(auth.sessions) as session:
        assert await clients.breaking_the_model(session) == [legacy.client_id]


async def test_a_code_or_refresh_token_with_an_admin_scope_issued_before_is_refused(
    auth: AuthService,
) -> None:
    legacy = await legacy_client(auth)
    account = await auth.account()
    session_id = await auth.sign_in(account)
    flow = Flow(*pkce())
    code = await auth.provider.grants.issue_code(
        CodeGrant(
            client_id=legacy.client_id,
            redirect_uri=REDIRECT,
            scope="openid auth:admin",
            code_challenge=flow.challenge,
            nonce=None,
            account_id=str(account),
            session_id=session_id,
            auth_time=int(utcnow().timestamp()),
            amr=["pwd"],
        )
    )
    exchanged = await auth.exchange(legacy, code, flow)
    assert exchanged.status_code == 400 and exchanged.json()["error"] == "invalid_grant"
    family = uuid.uuid4()
    async with unit_of_work(auth.sessions) as session:
        old = await tokens.new_refresh_token(
            session,
            family_id=family,
            client_id=legacy.client_id,
            account_id=account,
            session_id=None,
            scope="openid offline_access consent:admin",
            auth_time=utcnow(),
            ttl_s=3600,
        )
    refreshed = await auth.refresh(legacy, old)
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    # The whole grant is ended, the successor the rotation stored included.
    async with auth.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(RefreshToken.revoked_at).where(RefreshToken.family_id == family)
            )
        ).all()
    assert rows and all(r.revoked_at is not None for r in rows)


@pytest.mark.parametrize(
    "body",
    [
        # The admin API's default grants are the code grant and refresh.
        {"scopes": ["auth:admin"], "redirect_uris": ["https://ops.example.com/cb"]},
        {
            "scopes": ["consent:admin"],
            "grant_types": ["client_credentials"],
            "post_logout_redirect_uris": ["https://ops.example.com/bye"],
        },
        {
            "scopes": ["openid", "profile:admin"],
            "grant_types": ["authorization_code", "client_credentials"],
            "redirect_uris": ["https://ops.example.com/cb"],
        },
        # Customer scopes without a customer: client credentials only.
        {"scopes": ["me:profile:read"], "grant_types": ["client_credentials"]},
    ],
)
async def test_a_registration_breaking_the_model_is_refused_with_a_problem(
    auth: AuthService, body: dict[str, Any]
) -> None:
    headers = bearer(await auth.admin_token())
    before = await staged_keys(auth)
    refused = await auth.http.post("/v1/admin/clients", json={"name": "x"} | body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    detail = refused.json()["detail"]
    assert "operator client" in detail or "authorization code grant" in detail
    # An existing app cannot be turned into one either.
    app = await auth.http.post(
        "/v1/admin/clients",
        json={"name": "Shop", "redirect_uris": ["https://shop.example.com/cb"]},
        headers=headers,
    )
    changed = await auth.http.put(
        f"/v1/admin/clients/{app.json()['client_id']}",
        json={"name": "Shop", "redirect_uris": ["https://shop.example.com/cb"]} | body,
        headers=headers,
    )
    assert changed.status_code == 422, changed.text
    assert await staged_keys(auth) == [*before, app.json()["client_id"]]


async def test_operator_clients_and_customer_scope_apps_are_still_registered(
    auth: AuthService,
) -> None:
    headers = bearer(await auth.admin_token())
    operator = await auth.http.post(
        "/v1/admin/clients",
        json={"name": "ops", "scopes": ["consent:admin"], "grant_types": ["client_credentials"]},
        headers=headers,
    )
    assert operator.status_code == 201, operator.text
    app = await auth.http.post(
        "/v1/admin/clients",
        json={
            "name": "Quiz",
            "redirect_uris": ["https://quiz.example.com/cb"],
            "scopes": ["openid", *CUSTOMER.split()],
        },
        headers=headers,
    )
    assert app.status_code == 201, app.text
    assert set(app.json()["scopes"]) == {"openid"} | CUSTOMER_SCOPES


def test_the_cli_refuses_an_admin_scope_with_a_redirect_uri(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(
        ["create-client", "--name", "ops", "--scope", "auth:admin",
         "--redirect-uri", "https://ops.example.com/cb",
         "--grant", "authorization_code", "--grant", "client_credentials"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert "refused" in err and "operator client" in err


# --- 2. customer scopes: on the consent screen, never in client credentials ---------------------


@pytest.mark.parametrize(
    ("locale", "texts"),
    [
        (
            "pl",
            [
                "Wgląd w Twoje zgody (udzielone i wycofane)",
                "Udzielanie i wycofywanie Twoich zgód na cele",
                "Wgląd w dane Twojego profilu klienta",
                "Zmianę danych Twojego profilu klienta",
                "Pobranie kopii wszystkich danych Twojego profilu klienta",
            ],
        ),
        (
            "en",
            [
                "See your consents (given and withdrawn)",
                "Give and withdraw your consents for the purposes it uses, in its own brand",
                "See the data in your customer profile",
                "Change the data in your customer profile",
                "Download a copy of all your customer profile data",
            ],
        ),
    ],
)
async def test_customer_scopes_are_described_on_the_consent_screen(
    auth: AuthService, locale: str, texts: list[str]
) -> None:
    app = await auth.client(first_party=False, scopes=["openid", *CUSTOMER.split()])
    await auth.sign_in(await auth.account())
    flow = Flow(*pkce())
    page = await auth.authorize(app, flow, scope="openid " + CUSTOMER, ui_locales=locale)
    assert page.status_code == 200 and f'lang="{locale}"' in page.text
    for text in texts:
        assert text in page.text
    listed = re.search(r"<ul>(.*?)</ul>", page.text, re.DOTALL)
    assert listed is not None and "me:" not in listed.group(1)  # words, not scope names
    form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    allowed = await auth.http.post("/authorize/consent", data=form | {"decision": "allow"})
    issued = await auth.exchange(app, redirect_query(allowed)["code"], flow)
    assert set(issued.json()["scope"].split()) == {"openid"} | CUSTOMER_SCOPES
    document = (await auth.http.get("/.well-known/openid-configuration")).json()
    assert set(document["scopes_supported"]) >= CUSTOMER_SCOPES
    assert not {"auth:admin", "consent:admin"} & set(document["scopes_supported"])


async def test_customer_scopes_are_refused_in_client_credentials(auth: AuthService) -> None:
    app = await auth.client(scopes=["openid", "consent:read", *CUSTOMER.split()])
    asked = await app_token(auth, app, "consent:read me:profile:export")
    assert asked.status_code == 400 and asked.json()["error"] == "invalid_scope"
    assert "me:profile:export" in asked.json()["error_description"]
    # Without a scope parameter the app gets its own API scopes, none of the customer's.
    default = await app_token(auth, app)
    assert default.status_code == 200 and default.json()["scope"] == "consent:read"


# --- 3. auth's own APIs: who the principal is before which scopes --------------------------------


async def test_a_customer_token_with_auth_admin_cannot_use_the_admin_api(
    auth: AuthService,
) -> None:
    legacy = await legacy_client(auth)
    account = await auth.account("someone@example.com")
    # As the old code issued it: the code grant gave the customer whatever the app held.
    customer, _ = auth.provider.issuer.access_token(
        sub=str(account), client_id=legacy.client_id, scope="openid auth:admin auth:contacts"
    )
    listed = await auth.http.get("/v1/admin/clients", headers=bearer(customer))
    assert listed.status_code == 403, listed.text
    assert listed.headers["content-type"] == "application/problem+json"
    assert "customer" in listed.json()["detail"]
    contact = await auth.http.get(f"/v1/internal/contacts/{account}", headers=bearer(customer))
    assert contact.status_code == 403
    # The app's own token with auth:admin, issued before: the client is no operator client.
    own, _ = auth.provider.issuer.access_token(
        sub=legacy.client_id, client_id=legacy.client_id, scope="auth:admin"
    )
    assert (await auth.http.get("/v1/admin/clients", headers=bearer(own))).status_code == 403
    # And a first-party customer token is a customer's token too.
    page = first_party.customer_token(auth.provider.issuer, account, CUSTOMER_SCOPES)
    assert (await auth.http.get("/v1/admin/clients", headers=bearer(page))).status_code == 403


async def test_an_operator_token_stops_when_its_client_is_deleted_or_loses_the_scope(
    auth: AuthService,
) -> None:
    headers = bearer(await auth.admin_token())
    other = await auth.http.post(
        "/v1/admin/clients",
        json={"name": "ops2", "scopes": ["auth:admin"], "grant_types": ["client_credentials"]},
        headers=headers,
    )
    ops2 = RegisteredClient(other.json()["client_id"], other.json()["client_secret"])
    token = (await app_token(auth, ops2)).json()["access_token"]
    assert (await auth.http.get("/v1/admin/keys", headers=bearer(token))).status_code == 200
    demoted = await auth.http.put(
        f"/v1/admin/clients/{ops2.client_id}",
        json={"name": "ops2", "scopes": ["consent:admin"], "grant_types": ["client_credentials"]},
        headers=headers,
    )
    assert demoted.status_code == 200
    assert (await auth.http.get("/v1/admin/keys", headers=bearer(token))).status_code == 403
    await auth.http.delete(f"/v1/admin/clients/{ops2.client_id}", headers=headers)
    assert (await auth.http.get("/v1/admin/keys", headers=bearer(token))).status_code == 401


async def test_the_contacts_api_takes_only_a_client_credentials_token_with_its_scope(
    auth: AuthService,
) -> None:
    account = await auth.account("reach-me@example.com")
    reader = await auth.client(
        grant_types=["client_credentials"], redirect_uris=[], scopes=["auth:contacts"]
    )
    token = (await app_token(auth, reader)).json()["access_token"]
    url = f"/v1/internal/contacts/{account}"
    assert (await auth.http.get(url, headers=bearer(token))).status_code == 200
    # A customer token naming the reader's client and the scope is still a customer's token.
    customer, _ = auth.provider.issuer.access_token(
        sub=str(account), client_id=reader.client_id, scope="auth:contacts"
    )
    assert (await auth.http.get(url, headers=bearer(customer))).status_code == 403


# --- 4. a deleted app stops at once -------------------------------------------------------------


async def test_a_deleted_apps_tokens_are_inactive_at_once_and_its_refresh_tokens_refused(
    auth: AuthService,
) -> None:
    headers = bearer(await auth.admin_token())
    app = await auth.client()
    resource = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    await auth.sign_in(await auth.account())
    issued = await auth.tokens(app)
    own = (await app_token(auth, app)).json()["access_token"]
    for token in (issued["access_token"], own):
        assert (await auth.introspect(resource, token))["active"] is True
    deleted = await auth.http.delete(f"/v1/admin/clients/{app.client_id}", headers=headers)
    assert deleted.status_code == 204
    for token in (issued["access_token"], own):
        assert (await auth.introspect(resource, token)) == {"active": False}
    userinfo = await auth.http.get("/userinfo", headers=bearer(issued["access_token"]))
    assert userinfo.status_code == 401
    refreshed = await auth.refresh(app, issued["refresh_token"])
    assert refreshed.status_code == 401 and refreshed.json()["error"] == "invalid_client"
    async with auth.engine.connect() as connection:
        live = await connection.scalar(
            select(RefreshToken.token_hash).where(
                RefreshToken.client_id == app.client_id, RefreshToken.revoked_at.is_(None)
            )
        )
    assert live is None


# --- 5. auth's own pages mint customer tokens ----------------------------------------------------


async def test_a_first_party_page_mints_a_short_lived_customer_token(auth: AuthService) -> None:
    account = await auth.account()
    resource = await auth.client(grant_types=["client_credentials"], redirect_uris=[])
    token = first_party.customer_token(
        auth.provider.issuer, account, ["me:consents:write", "me:consents:read"]
    )
    claims = await auth.introspect(resource, token)
    assert claims["active"] is True
    assert claims["sub"] == str(account) and claims["client_id"] == FIRST_PARTY_CLIENT
    assert claims["scope"] == "me:consents:read me:consents:write"
    assert claims["exp"] - claims["iat"] == first_party.TTL_S
    for wrong in (["auth:admin"], ["consent:write"], []):
        with pytest.raises(ValueError):
            first_party.customer_token(auth.provider.issuer, account, wrong)
