"""Social sign-in's wiring: one object per process, kept in the runtime's extras."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from ciam_auth.context import SOURCE
from ciam_auth.oidc.provider import EXTRA as PROVIDER_EXTRA
from ciam_auth.oidc.provider import Provider
from ciam_auth.settings import AuthSettings
from ciam_auth.social.consent import CLIENT_ID, PURPOSE, SCOPE, ConsentRecorder
from ciam_auth.social.flow import FlowStore
from ciam_auth.social.upstream import Upstreams
from ciam_shared.db import unit_of_work, utcnow
from ciam_shared.events import BrandAppRegistered, CloudEvent
from ciam_shared.outbox import stage
from ciam_shared.service import ServiceRuntime

EXTRA = "social"


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


async def start_social(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, AuthSettings)
    provider: Provider = runtime.extras[PROVIDER_EXTRA]
    upstreams = Upstreams(settings.social_providers, timeout_s=settings.social_timeout_s)

    def token() -> str:
        return provider.issuer.access_token(sub=CLIENT_ID, client_id=CLIENT_ID, scope=SCOPE)[0]

    consents = ConsentRecorder(settings.consent_url, token, upstreams.http)
    if consents.configured:
        await announce_self(runtime)
    runtime.extras[EXTRA] = Social(settings, upstreams, FlowStore(runtime.redis), consents)


async def announce_self(runtime: ServiceRuntime) -> None:
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


async def stop_social(runtime: ServiceRuntime) -> None:
    social: Social | None = runtime.extras.get(EXTRA)
    if social is not None:
        await social.upstreams.aclose()


async def get_social(request: Request) -> Social:
    social: Social = request.app.state.runtime.extras[EXTRA]
    return social
