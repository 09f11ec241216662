"""Social sign-in's wiring: one object per process, built by `create_app` and carried in the
runtime's parts (`ciam_auth.parts.AuthParts.social`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.context import SOURCE
from ciam_auth.oidc.provider import Provider
from ciam_auth.settings import AuthSettings
from ciam_auth.social import service
from ciam_auth.social.consent import CLIENT_ID, PURPOSE, SCOPE, ConsentRecorder
from ciam_auth.social.flow import FlowStore
from ciam_auth.social.upstream import Upstreams
from ciam_shared.db import unit_of_work, utcnow
from ciam_shared.events import BrandAppRegistered, CloudEvent
from ciam_shared.outbox import stage
from ciam_shared.service import ServiceRuntime


@dataclass
class Social:
    settings: AuthSettings
    upstreams: Upstreams
    flows: FlowStore
    consents: ConsentRecorder

    @property
    def secure_cookies(self) -> bool:
        return self.settings.issuer_url.startswith("https://")

    def callback_url(self, provider_id: str) -> str:
        return f"{self.settings.issuer_url}/login/social/{provider_id}/callback"

    async def linked_providers(
        self, session: AsyncSession, account_id: uuid.UUID
    ) -> list[tuple[str, str]]:
        """The account's linked providers that are enabled here, as (id, display name): what
        the account page offers for re-authentication (`ciam_auth.parts.LinkedProviders`)."""
        linked = [i.provider for i in await service.list_identities(session, account_id)]
        enabled = self.upstreams.by_id
        return [(p, enabled[p].config.name) for p in dict.fromkeys(linked) if p in enabled]


def build_social(settings: AuthSettings, provider: Provider, redis: aioredis.Redis) -> Social:
    """Connects to nothing (the HTTP client connects on its first request)."""
    upstreams = Upstreams(settings.social_providers, timeout_s=settings.social_timeout_s)

    def token() -> str:
        return provider.issuer.access_token(sub=CLIENT_ID, client_id=CLIENT_ID, scope=SCOPE)[0]

    consents = ConsentRecorder(settings.consent_url, token, upstreams.http)
    return Social(settings, upstreams, FlowStore(redis), consents)


async def start_social(runtime: ServiceRuntime[Any], social: Social) -> None:
    if social.consents.configured:
        await announce_self(runtime)


async def announce_self(runtime: ServiceRuntime[Any]) -> None:
    """The consent service takes an app's consents only from an app that `ciam.auth.apps`
    lists, for the purposes it declared. Auth records import choices in its own name, so it
    lists itself there: a platform app of no brand that declares `social-import` only. Sent at
    every start (the topic is compacted: the newest record is all that stays)."""
    now = utcnow()
    event = BrandAppRegistered(
        client_id=CLIENT_ID,
        name="Sign-in service (social import)",
        brand=None,
        purposes=[PURPOSE],
        scopes=[SCOPE],
        first_party=True,
        registered_at=now,
        updated_at=now,
    )
    async with unit_of_work(runtime.sessions) as session:
        await stage(
            session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=runtime.topic_prefix
        )


async def stop_social(social: Social) -> None:
    await social.upstreams.aclose()
