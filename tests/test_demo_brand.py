"""The demo brand of `make run`, seeded and started by the runner's own module
(`ciam_devtools.devstack.demo`) against the auth and consent services as separate processes over
the real broker: its two apps are registered at auth once; a consent granted and withdrawn
through the consent API shows on both apps' pages, in their JSON and on their event streams,
and the SDK's acknowledgements put both apps in the propagation proof."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey

from ciam_devtools.devstack import DevStackError, demo, free_port
from ciam_devtools.devstack.console import ensure_client
from ciam_devtools.testing.plugin import DatabaseFactory, ServiceProcess, eventually

pytestmark = pytest.mark.e2e


@dataclass
class Platform:
    auth: ServiceProcess
    consent: ServiceProcess
    kafka: str
    prefix: str

    def dev_client(self, var: Path) -> dict[str, str]:
        """The development client, registered as the runner does (auth's CLI)."""
        var.mkdir(parents=True, exist_ok=True)
        return ensure_client(var, self.auth.env)


@pytest.fixture(scope="module")
async def platform(
    database_factory: DatabaseFactory,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Platform]:
    workdir = tmp_path_factory.mktemp("demo-brand")
    prefix = f"demo{secrets.token_hex(4)}."
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": prefix,
        "CIAM_ENVIRONMENT": "test",
    }
    auth_db = await database_factory.create("ciam_auth.migrations")
    consent_db = await database_factory.create("ciam_consent.migrations")
    auth = ServiceProcess("auth", {}, workdir)
    auth.env |= common | {
        "AUTH_DATABASE_URL": auth_db,
        "AUTH_MIGRATE_ON_START": "false",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "TOKEN_ISSUER": auth.url,
    }
    signing_key = ECKey.generate_key("P-256").as_pem(private=True).decode()
    consent = ServiceProcess(
        "consent",
        common | {
            "CONSENT_DATABASE_URL": consent_db,
            "CONSENT_MIGRATE_ON_START": "false",
            "TOKEN_ISSUER": auth.url,
            "CONSENT_RECEIPT_SIGNING_KEY": signing_key,
        },
        workdir,
    )  # fmt: skip
    try:
        auth.start()
        consent.start()
        yield Platform(auth, consent, kafka_bootstrap, prefix)
    finally:
        consent.stop()
        auth.stop()
        for db in (auth_db, consent_db):
            await database_factory.drop(db)


async def token(platform: Platform, client: dict[str, str], scope: str) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{platform.auth.url}/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(client["client_id"], client["client_secret"]),
        )
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def test_the_demo_apps_are_registered_once_and_again_when_auth_forgot_one(
    platform: Platform, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    admin = await asyncio.to_thread(platform.dev_client, var)
    first = await asyncio.to_thread(demo.seed, var, platform.auth.url, admin)
    assert stat.S_IMODE((var / demo.CLIENTS_FILE).stat().st_mode) == 0o600
    headers = await token(platform, admin, "auth:admin")
    async with httpx.AsyncClient(base_url=platform.auth.url, headers=headers) as http:
        for app in demo.APPS:
            found = (await http.get(f"/v1/admin/clients/{first[app.key]['client_id']}")).json()
            assert (found["name"], found["brand"]) == (app.name, demo.BRAND)
            assert sorted(found["purposes"]) == sorted(app.purposes)
        registered = len((await http.get("/v1/admin/clients")).json())

        again = await asyncio.to_thread(demo.seed, var, platform.auth.url, admin)
        assert again == first
        assert len((await http.get("/v1/admin/clients")).json()) == registered

        shop = first["shop"]["client_id"]
        assert (await http.delete(f"/v1/admin/clients/{shop}")).status_code == 204
        renewed = await asyncio.to_thread(demo.seed, var, platform.auth.url, admin)
        assert renewed["newsletter"] == first["newsletter"]
        assert renewed["shop"]["client_id"] != shop
        assert (await http.get(f"/v1/admin/clients/{renewed['shop']['client_id']}")).is_success
        assert json.loads((var / demo.CLIENTS_FILE).read_text()) == renewed


@contextmanager
def demo_apps(platform: Platform, var: Path, admin: dict[str, str]) -> Iterator[dict[str, str]]:
    clients = demo.seed(var, platform.auth.url, admin)
    ports = {app.key: free_port() for app in demo.APPS}
    with ExitStack() as stack:
        yield demo.start_apps(
            stack,
            var=var,
            kafka=platform.kafka,
            topic_prefix=platform.prefix,
            clients=clients,
            ports=ports,
        )


class EventStream:
    """An app's /events as a browser's EventSource reads it: every `data:` line, parsed."""

    def __init__(self, url: str) -> None:
        self.url, self.events, self.connected = url, list[dict[str, Any]](), False
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as http,  # a stream idles
            http.stream("GET", self.url) as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                self.connected = True  # the app sends a comment once it holds the listener
                if line.startswith("data: "):
                    self.events.append(json.loads(line.removeprefix("data: ")))

    def saw(self, subject: uuid.UUID, purpose: str, status: str) -> bool:
        return any(
            e["subject_id"] == str(subject) and e["consents"].get(purpose) == status
            for e in self.events
        )

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_a_withdrawal_changes_both_demo_pages_and_their_live_logs(
    platform: Platform, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    admin = await asyncio.to_thread(platform.dev_client, var)
    with ExitStack() as stack:
        urls = await asyncio.to_thread(stack.enter_context, demo_apps(platform, var, admin))
        streams = [EventStream(f"{url}events") for url in urls.values()]
        try:
            await run_the_demo(platform, admin, urls, streams)
            # Stopped with pages still open, the apps end their streams as they stop: the
            # readers see a complete response, not a connection cut by a kill.
            await asyncio.to_thread(stack.close)
            for stream in streams:
                await stream.task
        finally:
            for stream in streams:
                await stream.close()


async def run_the_demo(
    platform: Platform, admin: dict[str, str], urls: dict[str, str], streams: list[EventStream]
) -> None:
    shop, newsletter = urls["shop"], urls["newsletter"]
    writer = await token(platform, admin, "consent:read consent:write")
    subject = uuid.uuid4()
    consents = f"{platform.consent.url}/v1/subjects/{subject}/consents"

    async with httpx.AsyncClient(timeout=10, headers=writer) as http:

        async def page(url: str) -> dict[str, Any]:
            response = await http.get(f"{url}api/consents")
            assert response.status_code == 200
            body: dict[str, Any] = response.json()
            return body

        async def both_show(purpose: str, status: str) -> bool:
            pages = [await page(url) for url in (shop, newsletter)]
            return all(p["customers"].get(str(subject), {}).get(purpose) == status for p in pages)

        async def change(purpose: str, action: str) -> httpx.Response:
            return await http.post(f"{consents}/{purpose}/{action}", json={})

        async def connected() -> bool:
            return all(stream.connected for stream in streams)

        await eventually(connected, timeout=30)

        async def granted() -> bool:
            # consent learns the development client from auth's apps topic, then accepts it
            return (await change("email-marketing", "grant")).status_code == 200

        await eventually(granted, timeout=30)
        await eventually(lambda: both_show("email-marketing", "granted"), timeout=30)
        withdrawn = await change("email-marketing", "withdraw")
        assert withdrawn.status_code == 200, withdrawn.text
        await eventually(lambda: both_show("email-marketing", "withdrawn"), timeout=30)

        async def streamed() -> bool:
            return all(s.saw(subject, "email-marketing", "withdrawn") for s in streams)

        await eventually(streamed, timeout=30)
        assert all(s.saw(subject, "email-marketing", "granted") for s in streams)
        for url in (shop, newsletter):
            html = (await http.get(url)).text  # the table without JavaScript
            row = html.split(f'<tr id="{subject}">', 1)[1].split("</tr>", 1)[0]
            assert "<td>withdrawn</td>" in row
            log = (await page(url))["log"]
            assert [e["consents"]["email-marketing"] for e in log[:2]] == ["withdrawn", "granted"]
            assert "email-marketing granted → withdrawn" in log[0]["line"]

        # Each app shows the purposes of its own registration at auth, and only those.
        assert (await change("personalisation", "grant")).status_code == 200

        async def shop_shows_it() -> bool:
            customer = (await page(shop))["customers"].get(str(subject), {})
            return bool(customer.get("personalisation") == "granted")

        await eventually(shop_shows_it, timeout=30)
        assert (await page(newsletter))["purposes"] == ["email-marketing", "sms-marketing"]
        assert "personalisation" not in (await page(newsletter))["customers"][str(subject)]

        # The SDK acknowledged each change: both apps are in the propagation proof.
        async def proven() -> bool:
            response = await http.get(f"{platform.consent.url}/v1/subjects/{subject}/propagation")
            changes = response.json()["changes"]
            withdrawal = next(c for c in changes if c["version"] == withdrawn.json()["version"])
            return {"demo-shop", "demo-newsletter"} <= set(withdrawal["applied"])

        await eventually(proven, timeout=30)


def test_ciam_demo_0_leaves_the_demo_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIAM_DEMO", "0")
    nothing_listens = f"http://127.0.0.1:{free_port()}"  # seeding would fail: not asked
    with ExitStack() as stack:
        started = demo.start(
            stack,
            var=tmp_path,
            kafka="127.0.0.1:9",
            topic_prefix="",
            auth_url=nothing_listens,
            admin={"client_id": "app_x", "client_secret": "s"},
            ports=demo.default_ports(8001),
        )
    assert started == {}
    assert not (tmp_path / demo.CLIENTS_FILE).exists()


def test_a_demo_port_in_use_is_refused_with_the_fix(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        clients = {app.key: {"client_id": f"app_{app.key}"} for app in demo.APPS}
        ports = {app.key: port for app in demo.APPS}
        with ExitStack() as stack, pytest.raises(DevStackError, match=f"port {port}.*demo shop"):
            demo.start_apps(
                stack,
                var=tmp_path,
                kafka="127.0.0.1:9",
                topic_prefix="",
                clients=clients,
                ports=ports,
            )
