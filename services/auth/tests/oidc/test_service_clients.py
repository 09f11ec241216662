"""Service clients declared by the operator (AUTH_SERVICE_CLIENTS): upserted at every start."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select, text

from ciam_auth.main import SPEC, create_app
from ciam_auth.models import OAuthClient, outbox
from ciam_auth.oidc.declaration import ServiceClientConfig
from ciam_auth.oidc.service import service_clients
from ciam_auth.settings import AuthSettings
from ciam_devtools.testing.plugin import eventually, running, settings_kwargs
from ciam_shared.db import create_engine, unit_of_work
from ciam_shared.logging import JsonFormatter
from ciam_shared.service import ServiceRuntime

from .conftest import ISSUER

REGISTERED = "dev.ciam.auth.app.registered.v1"
Declare = Callable[..., AuthSettings]


def client(client_id: str, secret: str, *scopes: str, **extra: Any) -> dict[str, Any]:
    return {"client_id": client_id, "secret": secret, "scopes": list(scopes), **extra}


@pytest.fixture
async def declare(
    fresh_database: Any, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> Callable[..., Any]:
    """Settings of an auth service on one fresh database, declaring the given clients."""
    url = await fresh_database("ciam_auth.migrations")
    kek = secrets.token_urlsafe(32)

    def make(*declared: dict[str, Any], **overrides: Any) -> AuthSettings:
        kwargs = settings_kwargs(
            url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=topic_prefix
        )
        return AuthSettings(
            issuer=ISSUER,
            key_encryption_secret=kek,
            service_clients=list(declared),
            **(kwargs | overrides),
        )

    return make


async def token(
    http: httpx.AsyncClient, client_id: str, secret: str, **form: str
) -> httpx.Response:
    return await http.post(
        "/token", data={"grant_type": "client_credentials", **form}, auth=(client_id, secret)
    )


async def registrations(settings: AuthSettings) -> list[tuple[str, str, bool]]:
    """(key, event type, sent) of every event staged on ciam.auth.apps, in order."""
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(outbox.c.key, outbox.c.event_type, outbox.c.sent_at)
                .where(outbox.c.topic.like("%ciam.auth.apps"))
                .order_by(outbox.c.seq)
            )
            return [(r.key, r.event_type, r.sent_at is not None) for r in rows]
    finally:
        await engine.dispose()


async def stored(settings: AuthSettings, client_id: str) -> OAuthClient:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    select(OAuthClient.__table__).where(OAuthClient.client_id == client_id)
                )
            ).one()
            return OAuthClient(**row._asdict())
    finally:
        await engine.dispose()


async def test_declared_clients_are_created_published_and_get_exactly_their_scopes(
    declare: Declare,
) -> None:
    profile, notifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    settings = declare(
        client("svc-profile", profile, "auth:contacts", name="profile"),
        client("svc-notifier", notifier, "auth:contacts", "consent:read"),
    )
    async with running(create_app(settings)) as http:
        granted = await token(http, "svc-profile", profile)
        assert granted.status_code == 200, granted.text
        assert granted.json()["scope"] == "auth:contacts"
        wider = await token(http, "svc-profile", profile, scope="auth:contacts auth:admin")
        assert wider.status_code == 400
        assert wider.json()["error"] == "invalid_scope"
        both = await token(http, "svc-notifier", notifier)
        assert both.json()["scope"] == "auth:contacts consent:read"
        # A machine client only: no redirect URI, so no authorization code flow.
        code = await http.get(
            "/authorize",
            params={"client_id": "svc-profile", "response_type": "code", "scope": "openid"},
        )
        assert code.status_code == 400

        async def published() -> bool:
            events = await registrations(settings)
            return len(events) == 2 and all(sent for _, _, sent in events)

        await eventually(published)
    events = await registrations(settings)
    assert sorted(key for key, _, _ in events) == ["svc-notifier", "svc-profile"]
    assert {kind for _, kind, _ in events} == {REGISTERED}
    row = await stored(settings, "svc-profile")
    assert (row.name, row.grant_types, row.redirect_uris) == ("profile", ["client_credentials"], [])
    assert (row.auth_method, row.first_party, row.brand) == ("client_secret_basic", True, None)
    assert row.secret_hash and profile not in row.secret_hash


async def test_a_restart_applies_a_rotated_secret_and_new_scopes_and_leaves_others_alone(
    declare: Declare,
) -> None:
    old, new, other = (secrets.token_urlsafe(32) for _ in range(3))
    first = declare(
        client("svc-profile", old, "auth:contacts"), client("svc-other", other, "consent:read")
    )
    async with running(create_app(first)) as http:
        assert (await token(http, "svc-profile", old)).status_code == 200
    rotated = declare(client("svc-profile", new, "auth:contacts", "profile:read"))
    async with running(create_app(rotated)) as http:
        refused = await token(http, "svc-profile", old)
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client"
        granted = await token(http, "svc-profile", new)
        assert granted.status_code == 200, granted.text
        assert granted.json()["scope"] == "auth:contacts profile:read"
        # Left out of the declaration, not deleted.
        assert (await token(http, "svc-other", other)).status_code == 200
    # A start that changes nothing publishes nothing.
    async with running(create_app(rotated)) as http:
        assert (await token(http, "svc-profile", new)).status_code == 200
    keys = [key for key, _, _ in await registrations(rotated)]
    assert sorted(keys) == ["svc-other", "svc-profile", "svc-profile"]


async def test_two_replicas_starting_together_on_one_database_both_start(
    declare: Declare,
) -> None:
    secret = secrets.token_urlsafe(32)
    settings = declare(client("svc-profile", secret, "auth:contacts"))
    async with AsyncExitStack() as stack:
        replicas = await asyncio.gather(
            *(stack.enter_async_context(running(create_app(settings))) for _ in range(2))
        )
        for http in replicas:
            assert (await token(http, "svc-profile", secret)).status_code == 200
    # Both upserted; the database let exactly one of them create (and publish) the client.
    assert [key for key, _, _ in await registrations(settings)] == ["svc-profile"]


async def test_an_upsert_waits_for_a_concurrent_one_and_then_finds_nothing_to_change(
    declare: Declare,
) -> None:
    """The race the test above may or may not hit, made certain: replica B upserts while
    replica A's insert (then A's change) is not yet committed."""
    settings = declare()
    runtime = ServiceRuntime.build(SPEC, settings)

    async def upsert_in_own_transaction(declared: ServiceClientConfig) -> str:
        async with unit_of_work(runtime.sessions) as session:
            return await service_clients.upsert(session, declared, topic_prefix=topic)

    async def someone_waits_for_a_lock() -> bool:
        async with runtime.engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            return bool(waiting)

    topic = settings.topic_prefix
    first = ServiceClientConfig(client_id="svc-a", secret="a" * 40, scopes=["auth:contacts"])
    rotated = first.model_copy(update={"secret": SecretStr("b" * 40)})
    try:
        # A inserts and has not committed: B's insert waits, then finds the row unchanged.
        async with unit_of_work(runtime.sessions) as session:
            assert await service_clients.upsert(session, first, topic_prefix=topic) == "created"
            other = asyncio.create_task(upsert_in_own_transaction(first))
            await eventually(someone_waits_for_a_lock)
        assert await other == "unchanged"
        # A has locked the row to compare it and has not changed it yet: B's read waits for
        # A's change, then finds nothing left to change (no second update, no second event).
        async with unit_of_work(runtime.sessions) as session:
            await session.execute(
                select(OAuthClient).where(OAuthClient.client_id == "svc-a").with_for_update()
            )
            other = asyncio.create_task(upsert_in_own_transaction(rotated))
            await eventually(someone_waits_for_a_lock)
            assert await service_clients.upsert(session, rotated, topic_prefix=topic) == "updated"
        assert await other == "unchanged"
    finally:
        await runtime.engine.dispose()
        await runtime.redis.aclose()
    assert [key for key, _, _ in await registrations(settings)] == ["svc-a", "svc-a"]


async def test_a_weak_secret_stops_the_start_outside_development_without_quoting_it(
    declare: Declare,
) -> None:
    weak = "short-but-secret"
    with pytest.raises(ValidationError) as refused:
        declare(client("svc-profile", weak, "auth:contacts"))
    assert "svc-profile" in str(refused.value) and "32 characters" in str(refused.value)
    assert weak not in str(refused.value)
    with pytest.raises(ValidationError) as placeholder:
        declare(client("svc-profile", "changeme", "auth:contacts"))
    assert "changeme" not in str(placeholder.value)
    # Development accepts it (the local runner's own values are strong anyway).
    allowed = declare(client("svc-profile", weak, "auth:contacts"), environment="development")
    assert allowed.service_clients[0].secret.get_secret_value() == weak


@pytest.mark.parametrize(
    ("declared", "reason"),
    [
        ([client("svc-a", "x" * 40, "openid")], "API scopes only"),
        ([client("svc-a", "x" * 40)], "at least 1 item"),
        ([client("svc-a", "x" * 40, "auth:contacts")] * 2, "declared twice"),
        ([client("svc a", "x" * 40, "auth:contacts")], "pattern"),
        ([{"client_id": "svc-a", "secret": "x" * 40, "scope": ["auth:contacts"]}], "Extra"),
        # Customer scopes act for a customer, whom a client credentials token never names.
        ([client("svc-a", "x" * 40, "me:profile:read")], "authorization code grant"),
        # The first-party client's tokens are auth's own (docs/security.md).
        ([client("ciam-auth", "x" * 40, "consent:write")], "reserved for auth"),
    ],
)
async def test_a_malformed_declaration_stops_the_start(
    declare: Declare, declared: list[dict[str, Any]], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason) as refused:
        declare(*declared)
    assert "x" * 40 not in str(refused.value)


async def test_the_declaration_may_come_from_a_file_but_not_from_both(
    declare: Declare, tmp_path: Path
) -> None:
    secret = secrets.token_urlsafe(32)
    path = tmp_path / "service-clients.json"
    path.write_text(json.dumps([client("svc-notifier", secret, "auth:contacts")]))
    settings = declare(service_clients_file=str(path))
    assert [c.client_id for c in settings.service_clients] == ["svc-notifier"]
    async with running(create_app(settings)) as http:
        assert (await token(http, "svc-notifier", secret)).status_code == 200
    with pytest.raises(ValidationError, match="not both"):
        declare(client("svc-profile", secret, "auth:contacts"), service_clients_file=str(path))
    path.write_text("[{not json " + secret)
    with pytest.raises(ValidationError, match="not JSON") as broken:
        declare(service_clients_file=str(path))
    assert secret not in str(broken.value)


async def test_no_log_line_holds_a_declared_secret(
    declare: Declare, caplog: pytest.LogCaptureFixture
) -> None:
    secret = secrets.token_urlsafe(32)
    settings = declare(client("svc-profile", secret, "auth:contacts"))
    app = create_app(settings)  # sets up the service's JSON logging: capture after it
    root = logging.getLogger()
    root.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG):
            async with running(app) as http:
                assert (await token(http, "svc-profile", secret)).status_code == 200
                assert (await token(http, "svc-profile", secret[:-1] + "?")).status_code == 401
    finally:
        root.removeHandler(caplog.handler)
    messages = [record.getMessage() for record in caplog.records]
    assert "service client svc-profile created" in messages
    # As the service writes them: the JSON lines carry every extra field too.
    lines = [JsonFormatter("auth").format(record) for record in caplog.records]
    assert len(lines) > 10
    assert not [line for line in lines if secret in line or secret[:-1] in line]
