from __future__ import annotations

import logging

import httpx
from fastapi import FastAPI

from ciam_consent_sdk import BrandAppView, ConsentView
from ciam_consent_sdk.metrics import expose as expose_view
from ciam_profile.api import routers
from ciam_profile.cache import ProfileCache
from ciam_profile.catalogue import PurposeCatalogue
from ciam_profile.events import register_subscribers
from ciam_profile.gate import ConsentGate
from ciam_profile.limits import BodyLimit
from ciam_profile.models import Base
from ciam_profile.parts import ProfileParts, ProfileRuntime
from ciam_profile.settings import ProfileSettings
from ciam_profile.social import SocialImports
from ciam_shared.events import (
    DataExportPart,
    ErasureConfirmed,
    IdentifierLinked,
    ProfileCreated,
    ProfileErased,
    ProfileMergeUndone,
    ProfilesMerged,
    ProfileUpdated,
)
from ciam_shared.service import ServiceRuntime, ServiceSpec, build_app
from ciam_shared.topics import (
    BRAND_APPS,
    CONSENT_APPLIED,
    CONSENT_PURPOSES,
    CONSENT_STATE,
    IDENTITY_EVENTS,
    PRIVACY_REPLIES,
    PRIVACY_REQUESTS,
    PROFILE_EVENTS,
)

log = logging.getLogger(__name__)

SPEC = ServiceSpec(
    name="profile",
    title="CIAM profile service",
    metadata=Base.metadata,
    migrations_package="ciam_profile.migrations",
    publishes=(
        ProfileCreated,
        ProfileUpdated,
        IdentifierLinked,
        ProfilesMerged,
        ProfileMergeUndone,
        ProfileErased,
        DataExportPart,
        ErasureConfirmed,
    ),
    topics=(
        IDENTITY_EVENTS,
        PROFILE_EVENTS,
        CONSENT_STATE,
        CONSENT_PURPOSES,
        CONSENT_APPLIED,
        BRAND_APPS,
        PRIVACY_REQUESTS,
        PRIVACY_REPLIES,
    ),
)


def create_app(settings: ProfileSettings | None = None) -> FastAPI:
    settings = settings or ProfileSettings()
    base = ServiceRuntime.build(SPEC, settings)
    cache = ProfileCache(
        base.redis, prefix=settings.topic_prefix, ttl_seconds=settings.cache_ttl_seconds
    )
    # Consents from the compacted state topic (the SDK a brand app uses), acknowledged on
    # ciam.consent.applied as subscriber "profile"; the catalogue from the purposes topic.
    view = ConsentView(
        settings.kafka_bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        subscriber=settings.consent_subscriber,
        client_id="profile-consents",
    )
    expose_view(view, settings.consent_subscriber)  # its lag on /metrics
    catalogue = PurposeCatalogue(
        settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix
    )
    gate = ConsentGate(view, catalogue, tracking_purpose=settings.tracking_purpose)
    # The purposes each brand app declared, from the auth service's compacted apps topic.
    apps = BrandAppView(
        settings.kafka_bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        client_id="profile-apps",
    )
    imports = (
        SocialImports(
            httpx.AsyncClient(timeout=settings.auth_timeout_seconds),
            settings.auth_url or settings.token_issuer,
            settings.auth_client_id,
            settings.auth_client_secret,
        )
        if settings.social_import_enabled
        else None
    )
    runtime = base.with_parts(ProfileParts(settings, cache, gate, apps, imports))
    register_subscribers(runtime, cache, imports)

    async def on_start(rt: ProfileRuntime) -> None:
        if imports is None:
            log.warning(
                "social import off: PROFILE_AUTH_CLIENT_ID and PROFILE_AUTH_CLIENT_SECRET are "
                "not set (identity-linked events import nothing; withdrawals still remove)"
            )
        # Both return once everything already on their topics is applied: no read is
        # answered from an empty view.
        await catalogue.start()
        await view.start()
        await apps.start()

    async def on_stop(rt: ProfileRuntime) -> None:
        await apps.stop()
        await view.stop()
        await catalogue.stop()
        await cache.drain()
        if imports is not None:
            await imports.aclose()

    app = build_app(runtime, routers=routers, on_startup=[on_start], on_shutdown=[on_stop])
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
