"""The webhook address guard end to end: issue 12's addresses are refused at subscription and
at delivery (a name that changes its answer after the subscription), and a delivery connects
to the address checked with the name in the Host header, without a second lookup."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.settings import NotifierSettings
from ciam_notifier.ssrf import IPAddress
from ciam_shared.events import CloudEvent, CollectionMethod, ConsentStatus, ConsentWithdrawn
from ciam_shared.tokens.scopes import NOTIFIER_WEBHOOKS

ISSUE_12 = [
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::",
    "224.0.0.1",
]
HOST = "hooks.shop.example"


@dataclass
class Dns:
    """The outside world's DNS for the notifier: answers from `answers`, counts lookups."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    lookups: int = 0

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups += 1
        if host not in self.answers:
            raise OSError("no such host")
        return [ipaddress.ip_address(a) for a in self.answers[host]]


@dataclass
class Hook:
    port: int = field(default_factory=free_port)
    hosts: list[str] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.hosts.append(dict(scope["headers"])[b"host"].decode())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@dataclass
class Notifier:
    client: httpx.AsyncClient
    issuer: TokenIssuer
    dns: Dns

    def app(self) -> dict[str, str]:
        token = self.issuer.app_token("shop-backend", ttl=600, scopes=(NOTIFIER_WEBHOOKS,))
        return {"authorization": f"Bearer {token}"}

    async def subscribe(self, url: str) -> httpx.Response:
        return await self.client.post("/v1/subscriptions", json={"url": url}, headers=self.app())

    async def deliveries(self, subscription_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/subscriptions/{subscription_id}/deliveries", headers=self.app()
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found


@pytest.fixture
async def notifier(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Notifier]:
    url = await fresh_database("ciam_notifier.migrations")
    settings = NotifierSettings(
        **settings_kwargs(
            url,
            kafka=kafka_bootstrap,
            redis=redis_url,
            topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        ),
        # Loopback allowlisted, as in every notifier test: the embedded forms of loopback
        # must still be refused.
        webhook_allowlist=["127.0.0.0/8"],
        backoff_base_seconds=0.05,
        backoff_max_seconds=0.1,
        retry_period_seconds=600,
        delivery_poll_seconds=0.1,
    )
    dns = Dns()
    async with running(create_app(settings, resolver=dns)) as client:
        yield Notifier(client, token_issuer, dns)


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    hook = Hook()
    server = uvicorn.Server(
        uvicorn.Config(hook, host="127.0.0.1", port=hook.port, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await eventually(started)
    try:
        yield hook
    finally:
        server.should_exit = True
        await task


def withdrawal(version: int) -> CloudEvent[Any]:
    data = ConsentWithdrawn(
        subject_id=uuid.uuid4(),
        version=version,
        purpose="email-marketing",
        purpose_version=1,
        status=ConsentStatus.WITHDRAWN,
        collected_via=CollectionMethod.WEB,
        occurred_at=datetime.now(UTC),
        entry_hash="0" * 64,
    )
    return CloudEvent.wrap(data, source="/ciam/consent")


@pytest.mark.parametrize("address", ISSUE_12)
async def test_issue_12_addresses_are_refused_at_subscription(
    notifier: Notifier, address: str
) -> None:
    literal = f"[{address}]" if ":" in address else address
    refused = await notifier.subscribe(f"http://{literal}/hook")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("unsafe-webhook-url")
    notifier.dns.answers[HOST] = [address]  # and behind a name
    assert (await notifier.subscribe(f"http://{HOST}/hook")).status_code == 422


async def test_a_name_that_turns_to_issue_12_addresses_is_refused_at_delivery(
    notifier: Notifier, hook: Hook, kafka_bootstrap: str, topic_prefix: str
) -> None:
    notifier.dns.answers[HOST] = ["127.0.0.1"]
    created = await notifier.subscribe(f"http://{HOST}:{hook.port}/hook")
    assert created.status_code == 201, created.text
    subscription = created.json()["id"]
    for version, address in enumerate(ISSUE_12, start=1):
        notifier.dns.answers[HOST] = [address]
        await publish_event(kafka_bootstrap, withdrawal(version), prefix=topic_prefix)

        async def refused(version: int = version) -> bool:
            log = await notifier.deliveries(subscription)
            return len(log) == version and all(
                (d["last_error"] or "").startswith(f"{HOST} resolves to") for d in log
            )

        await eventually(refused)
    assert hook.hosts == []


async def test_a_delivery_goes_to_the_address_checked_with_the_name_as_host(
    notifier: Notifier, hook: Hook, kafka_bootstrap: str, topic_prefix: str
) -> None:
    notifier.dns.answers[HOST] = ["127.0.0.1"]
    created = await notifier.subscribe(f"http://{HOST}:{hook.port}/hook")
    subscription = created.json()["id"]
    lookups = notifier.dns.lookups
    await publish_event(kafka_bootstrap, withdrawal(1), prefix=topic_prefix)

    async def delivered() -> bool:
        return [d["status"] for d in await notifier.deliveries(subscription)] == ["delivered"]

    await eventually(delivered)
    # One lookup for the delivery's check, none by the HTTP client (the system's DNS does not
    # know the name: connecting by name would have failed).
    assert notifier.dns.lookups == lookups + 1
    assert hook.hosts == [f"{HOST}:{hook.port}"]
