"""The brand-app view against a real broker, fed by the auth service's relay."""

from __future__ import annotations

from typing import Any

from ciam_auth.oidc.service import clients
from ciam_consent_sdk import APPS_TOPIC, BrandAppView
from ciam_devtools.testing.plugin import eventually
from ciam_shared.db import unit_of_work
from ciam_shared.topics import BRAND_APPS

from .auth_app import running_auth


def spec(**overrides: object) -> clients.ClientSpec:
    values: dict[str, object] = {
        "name": "Shop",
        "brand": "acme",
        "redirect_uris": [],
        "post_logout_redirect_uris": [],
        "scopes": ["profile:read"],
        "purposes": ["personalisation"],
        "grant_types": ["client_credentials"],
        "auth_method": "client_secret_basic",
        "first_party": True,
    } | overrides
    return clients.ClientSpec(**values)  # type: ignore[arg-type]


def known(view: BrandAppView, client_id: str, *, present: bool = True) -> Any:
    async def probe() -> bool:
        return (view.get(client_id) is not None) is present

    return probe


def test_the_sdk_and_the_registry_name_the_same_topic() -> None:
    assert BRAND_APPS.base_name == APPS_TOPIC


async def test_the_view_knows_apps_registered_before_and_after_it_started(
    fresh_database, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> None:
    async with running_auth(fresh_database, kafka_bootstrap, redis_url, topic_prefix) as sessions:
        async with unit_of_work(sessions) as session:
            early, _ = await clients.register(session, spec(), topic_prefix=topic_prefix)
        view = BrandAppView(kafka_bootstrap, topic_prefix=topic_prefix)

        async def started_knowing_early() -> bool:
            # The relay publishes after the commit; a view started before that would not know.
            probe = BrandAppView(kafka_bootstrap, topic_prefix=topic_prefix)
            await probe.start()
            known = probe.get(early.client_id) is not None
            await probe.stop()
            return known

        await eventually(started_knowing_early, timeout=20)
        await view.start()
        try:
            assert view.purposes_of(early.client_id) == {"personalisation"}
            async with unit_of_work(sessions) as session:
                late, _ = await clients.register(
                    session, spec(name="Quiz", purposes=["analytics"]), topic_prefix=topic_prefix
                )
            await eventually(known(view, late.client_id), timeout=20)
            assert view.purposes_of(late.client_id) == {"analytics"}
            async with unit_of_work(sessions) as session:
                await clients.remove(session, early.client_id, topic_prefix=topic_prefix)
            await eventually(known(view, early.client_id, present=False), timeout=20)
            assert view.purposes_of("app_unknown") == frozenset()
            assert [a.client_id for a in view.all()] == [late.client_id]
        finally:
            await view.stop()
