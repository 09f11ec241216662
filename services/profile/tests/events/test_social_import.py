"""The social import, as the profile service sees it: identity events name the fields, and
the values come from the auth service's import API (`GET /v1/internal/social-imports/{id}`,
with the profile's own client-credentials token from auth's `/token`); real Kafka, PostgreSQL
and Redis underneath.

Auth's side is a double of that HTTP API on a loopback port, holding what auth's sign-in and
withdrawals would leave: these tests are about the profile's handling and its client, and a
test never writes another service's tables. The real auth service answers the same calls in
the end-to-end proof, tests/test_social_import_end_to_end.py (auth, consent and profile as
processes, a certified OpenID provider playing Google)."""

from __future__ import annotations

import base64
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.plugin import eventually, publish_event
from ciam_devtools.testing.servers import LoopbackServer
from ciam_profile.models import processed_events
from ciam_shared.events import (
    CloudEvent,
    EventData,
    IdentityLinked,
    IdentityUnlinked,
    SocialImportRefreshed,
    SocialImportWithdrawn,
)
from ciam_shared.http.problems import PROBLEM_BASE
from ciam_shared.topics import ALL_TOPICS, ensure_topics

NAME = {"name": {"name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace"}}
PICTURE = {"picture": {"picture": "https://idp.example/ada.png"}}
LOCALE = {"locale": {"locale": "en_GB"}}
BIRTHDAY = {"birthday": {"birthdate": "1815-12-10"}}
EMAIL = {"email": {"email": "ada@example.com"}}


ProfileApi = Any  # conftest's ProfileApi (not importable under --import-mode=importlib)


SCOPE = "auth:contacts"
SERVICE_CLIENT = {"client_id": "svc-profile", "secret": secrets.token_urlsafe(32)}
ACCOUNT_NOT_FOUND = f"{PROBLEM_BASE}account-not-found"  # auth's AccountNotFound


@dataclass
class AuthImports:
    """What auth holds for the import API: per account, its linked identities' allowed
    imports (kept across a stop and start of the server, like auth's database)."""

    accounts: dict[uuid.UUID, dict[uuid.UUID, dict[str, Any]]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            if not _is_service_client(request.headers.get("authorization", "")):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = await request.form()
            if form.get("grant_type") != "client_credentials" or form.get("scope") != SCOPE:
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            issued = secrets.token_urlsafe(24)
            self.tokens.add(issued)
            return JSONResponse({"access_token": issued, "token_type": "Bearer", "expires_in": 300})

        @app.get("/v1/internal/social-imports/{subject_id}")
        async def social_import(
            subject_id: uuid.UUID, authorization: Annotated[str, Header()] = ""
        ) -> JSONResponse:
            scheme, _, presented = authorization.partition(" ")
            if scheme.lower() != "bearer" or presented not in self.tokens:
                return JSONResponse(
                    {"title": "Unauthorized", "status": 401},
                    status_code=401,
                    headers={"www-authenticate": 'Bearer error="invalid_token"'},
                )
            identities = self.accounts.get(subject_id)
            if identities is None:
                problem = {"type": ACCOUNT_NOT_FOUND, "title": "Account not found", "status": 404}
                return JSONResponse(problem, status_code=404)
            merged: dict[str, Any] = {}
            for imported in identities.values():
                for name, value in imported.items():
                    merged.setdefault(name, value)
            return JSONResponse({"subject_id": str(subject_id), "fields": merged})

        return app


def _is_service_client(authorization: str) -> bool:
    """client_secret_basic with the profile's client id and secret."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return False
    return client_id == SERVICE_CLIENT["client_id"] and secrets.compare_digest(
        secret, str(SERVICE_CLIENT["secret"])
    )


class AuthServer(LoopbackServer):
    """The double of auth's import API on a loopback port; stop and start it again at will."""

    def __init__(self, port: int) -> None:
        self.imports = AuthImports()
        super().__init__(self.imports.app, port)

    async def social_account(self, imported: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
        """A social-only account with one linked identity, holding the values the customer
        allowed to import, as the first social sign-in leaves them. (subject, identity)"""
        subject, identity = uuid.uuid4(), uuid.uuid4()
        self.imports.accounts[subject] = {identity: imported}
        return subject, identity

    async def set_imported(self, identity_id: uuid.UUID, imported: dict[str, Any]) -> None:
        """What a returning sign-in (refresh) or a withdrawal leaves in auth."""
        for identities in self.imports.accounts.values():
            if identity_id in identities:
                identities[identity_id] = imported
                return
        raise AssertionError(f"no identity {identity_id}")

    async def erase(self, subject: uuid.UUID) -> None:
        del self.imports.accounts[subject]


@dataclass
class Rig:
    auth: AuthServer
    profile: ProfileApi

    async def publish(self, data: EventData) -> CloudEvent[Any]:
        event = CloudEvent.wrap(data, source="/ciam/auth")
        await publish_event(self.profile.kafka, event, prefix=self.profile.prefix)
        return event

    async def linked(self, subject: uuid.UUID, identity: uuid.UUID, names: list[str]) -> Any:
        return await self.publish(
            IdentityLinked(
                subject_id=subject,
                identity_id=identity,
                provider="google",
                imported_fields=names,
                linked_at=datetime.now(UTC),
            )
        )

    async def withdrawn(self, subject: uuid.UUID, identity: uuid.UUID, names: list[str]) -> Any:
        return await self.publish(
            SocialImportWithdrawn(
                subject_id=subject,
                identity_id=identity,
                provider="google",
                remove_fields=names,
                withdrawn_at=datetime.now(UTC),
            )
        )

    async def fields(self, subject: uuid.UUID) -> dict[str, Any]:
        api = self.profile
        response = await api.client.get(f"/v1/profiles/{subject}", headers=api.customer(subject))
        assert response.status_code == 200, response.text
        return dict(response.json()["fields"])

    async def processed(self, event: CloudEvent[Any]) -> bool:
        return await self.profile.count(processed_events, event_id=event.id) == 1

    async def updates(self) -> int:
        types = await self.profile.outbox_types()
        return types.count("dev.ciam.profile.updated.v1")


@pytest.fixture
async def rig(profile_api_with: Any, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[Rig]:
    await ensure_topics(kafka_bootstrap, ALL_TOPICS, prefix=topic_prefix)
    auth = AuthServer(free_port())
    await auth.start()
    try:
        client_id, secret = (SERVICE_CLIENT["client_id"], SERVICE_CLIENT["secret"])
        async with profile_api_with(
            auth_url=auth.url, auth_client_id=client_id, auth_client_secret=secret
        ) as api:
            yield Rig(auth, api)
    finally:
        await auth.stop()


async def test_only_the_fields_named_and_allowed_now_are_imported(rig: Rig) -> None:
    subject, identity = await rig.auth.social_account(NAME | PICTURE | BIRTHDAY | EMAIL)
    await rig.profile.register(subject)
    # `locale` is named but not in auth's import; `email` is in it but not named.
    await rig.linked(subject, identity, ["name", "picture", "locale", "birthday"])

    async def imported() -> dict[str, Any] | None:
        fields = await rig.fields(subject)
        return fields if "name" in fields else None

    fields = await eventually(imported)
    assert {n: f["value"] for n, f in fields.items()} == {
        "name": "Ada Lovelace",
        "picture": "https://idp.example/ada.png",
        "birthday": "1815-12-10",
    }
    assert {f["source"] for f in fields.values()} == {"social-import"}
    assert fields["name"]["kind"] == "identity"
    assert await rig.updates() == 1


async def test_a_value_the_customer_typed_is_never_overwritten_nor_removed(rig: Rig) -> None:
    subject, identity = await rig.auth.social_account(NAME | LOCALE)
    await rig.profile.register(subject)
    api = rig.profile
    typed = await api.client.patch(
        f"/v1/profiles/{subject}",
        json={"fields": {"name": "Ada K."}},
        headers=api.customer(subject),
    )
    assert typed.status_code == 200, typed.text
    linked = await rig.linked(subject, identity, ["name", "locale"])
    await eventually(lambda: rig.processed(linked))
    fields = await rig.fields(subject)
    assert fields["name"]["value"] == "Ada K." and "source" not in fields["name"]
    assert fields["locale"] == fields["locale"] | {"value": "en-GB", "source": "social-import"}

    withdrawn = await rig.withdrawn(subject, identity, ["name", "locale"])
    await eventually(lambda: rig.processed(withdrawn))
    fields = await rig.fields(subject)
    assert "locale" not in fields
    assert fields["name"]["value"] == "Ada K."


async def test_a_customer_edit_makes_an_imported_value_theirs(rig: Rig) -> None:
    subject, identity = await rig.auth.social_account(NAME)
    await rig.profile.register(subject)
    linked = await rig.linked(subject, identity, ["name"])
    await eventually(lambda: rig.processed(linked))
    api = rig.profile
    await api.client.patch(
        f"/v1/profiles/{subject}", json={"fields": {"name": "Ada"}}, headers=api.customer(subject)
    )
    withdrawn = await rig.withdrawn(subject, identity, ["name"])
    await eventually(lambda: rig.processed(withdrawn))
    assert (await rig.fields(subject))["name"]["value"] == "Ada"


async def test_a_withdrawal_before_the_fetch_wins(rig: Rig) -> None:
    subject, identity = await rig.auth.social_account(NAME | PICTURE)
    await rig.profile.register(subject)
    await rig.auth.set_imported(identity, PICTURE)  # `name` withdrawn in auth meanwhile
    linked = await rig.linked(subject, identity, ["name", "picture"])
    await eventually(lambda: rig.processed(linked))
    assert set(await rig.fields(subject)) == {"picture"}


async def test_a_refresh_rewrites_imported_values_and_an_unlinking_removes_them(rig: Rig) -> None:
    subject, identity = await rig.auth.social_account(NAME | PICTURE)
    await rig.profile.register(subject)
    linked = await rig.linked(subject, identity, ["name", "picture"])
    await eventually(lambda: rig.processed(linked))
    await rig.auth.set_imported(identity, NAME | {"picture": {"picture": "https://x.example/2"}})
    refreshed = await rig.publish(
        SocialImportRefreshed(
            subject_id=subject,
            identity_id=identity,
            provider="google",
            updated_fields=["picture"],
            refreshed_at=datetime.now(UTC),
        )
    )
    await eventually(lambda: rig.processed(refreshed))
    assert (await rig.fields(subject))["picture"]["value"] == "https://x.example/2"

    unlinked = await rig.publish(
        IdentityUnlinked(
            subject_id=subject,
            identity_id=identity,
            provider="google",
            remove_fields=["name", "picture"],
            unlinked_at=datetime.now(UTC),
        )
    )
    await eventually(lambda: rig.processed(unlinked))
    assert await rig.fields(subject) == {}
    assert await rig.updates() == 3  # linked, refreshed, unlinked


async def test_a_redelivered_event_imports_once(rig: Rig) -> None:
    subject, identity = await rig.auth.social_account(NAME)
    await rig.profile.register(subject)
    linked = await rig.linked(subject, identity, ["name"])
    await eventually(lambda: rig.processed(linked))
    await publish_event(rig.profile.kafka, linked, prefix=rig.profile.prefix)
    withdrawn = await rig.withdrawn(subject, identity, ["name"])  # same partition, after it
    await eventually(lambda: rig.processed(withdrawn))
    assert await rig.updates() == 2  # the import once, the removal once


async def test_an_import_waits_while_auth_is_down_and_is_not_lost(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    subject, identity = await rig.auth.social_account(NAME)
    await rig.profile.register(subject)
    await rig.auth.stop()
    linked = await rig.linked(subject, identity, ["name"])

    async def failed() -> bool:
        return any(
            "will be delivered again" in r.getMessage() and r.exc_info is not None
            for r in caplog.records
        )

    await eventually(failed)  # the handler failed: nothing committed, the record not acked
    assert not await rig.processed(linked)
    await rig.auth.start()

    async def imported() -> bool:
        return "name" in await rig.fields(subject)

    await eventually(imported, timeout=60)
    assert await rig.processed(linked)
    assert await rig.updates() == 1


async def test_a_deleted_account_has_nothing_to_import(rig: Rig) -> None:
    subject, identity = await rig.auth.social_account(NAME)
    await rig.profile.register(subject)
    await rig.auth.erase(subject)
    linked = await rig.linked(subject, identity, ["name"])
    await eventually(lambda: rig.processed(linked))  # acknowledged, not retried for ever
    assert await rig.fields(subject) == {}
    assert await rig.updates() == 0


class Said(logging.Handler):
    """Records of one logger (the service's logging set-up replaces the root's handlers)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_without_a_client_the_import_is_off_and_says_so_once(profile_api_with: Any) -> None:
    said, logger = Said(), logging.getLogger("ciam_profile.main")
    logger.addHandler(said)
    try:
        async with profile_api_with() as api:
            await _import_is_off(api)
    finally:
        logger.removeHandler(said)
    assert sum("social import off" in m for m in said.messages) == 1


async def _import_is_off(api: Any) -> None:
    assert api.app_under_test.state.runtime.parts.imports is None
    subject = await api.register()
    rows = await api.count(processed_events)
    event = CloudEvent.wrap(
        IdentityLinked(
            subject_id=subject,
            identity_id=uuid.uuid4(),
            provider="google",
            imported_fields=["name"],
            linked_at=datetime.now(UTC),
        ),
        source="/ciam/auth",
    )
    await publish_event(api.kafka, event, prefix=api.prefix)

    async def processed() -> bool:
        return await api.count(processed_events) == rows + 1

    await eventually(processed)
    body = (await api.client.get(f"/v1/profiles/{subject}", headers=api.admin())).json()
    assert body["fields"] == {}


async def test_the_token_is_reused_and_a_refused_one_is_replaced_once(rig: Rig) -> None:
    imports = rig.profile.app_under_test.state.runtime.parts.imports
    credentials = imports.credentials

    async def import_name() -> None:
        subject, identity = await rig.auth.social_account(NAME)
        await rig.profile.register(subject)
        linked = await rig.linked(subject, identity, ["name"])
        await eventually(lambda: rig.processed(linked))
        assert "name" in await rig.fields(subject)

    await import_name()
    token = credentials.cached_token
    assert token is not None
    await import_name()
    assert credentials.cached_token == token  # one token for both fetches
    # A token auth no longer accepts (its keys rotated, say), still fresh in the cache:
    # the 401 makes the client fetch a new token and try once more.
    credentials._token = ("not-a-token-auth-issued", time.monotonic() + 3600)
    await import_name()
    assert credentials.cached_token not in (None, token, "not-a-token-auth-issued")
    secret = rig.profile.settings.auth_client_secret.get_secret_value()
    assert secret not in repr(imports) and secret not in repr(credentials)
