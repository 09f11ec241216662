from __future__ import annotations

from fastapi import FastAPI

from ciam_auth.api import router
from ciam_auth.models import Base
from ciam_auth.oidc.api_admin import router as admin_router
from ciam_auth.oidc.api_authorize import router as authorize_router
from ciam_auth.oidc.api_contacts import router as contacts_router
from ciam_auth.oidc.api_discovery import router as discovery_router
from ciam_auth.oidc.api_token import router as token_router
from ciam_auth.oidc.errors import install_oauth_error_handler
from ciam_auth.oidc.provider import start_provider
from ciam_auth.settings import AuthSettings
from ciam_auth.social.api_identities import router as identities_router
from ciam_auth.social.api_pages import router as social_router
from ciam_auth.social.events import register_subscribers as register_social_subscribers
from ciam_auth.social.runtime import start_social, stop_social
from ciam_shared.events import (
    BrandAppDeleted,
    BrandAppRegistered,
    IdentityLinked,
    IdentityUnlinked,
    SocialImportRefreshed,
    SocialImportWithdrawn,
    UserRegistered,
)
from ciam_shared.service import ServiceRuntime, ServiceSpec, build_app
from ciam_shared.topics import BRAND_APPS, CONSENT_CHANGES, IDENTITY_EVENTS

SPEC = ServiceSpec(
    name="auth",
    title="CIAM auth service",
    metadata=Base.metadata,
    migrations_package="ciam_auth.migrations",
    publishes=(
        UserRegistered,
        BrandAppRegistered,
        BrandAppDeleted,
        IdentityLinked,
        IdentityUnlinked,
        SocialImportRefreshed,
        SocialImportWithdrawn,
    ),
    topics=(IDENTITY_EVENTS, BRAND_APPS, CONSENT_CHANGES),
)


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    runtime = ServiceRuntime.build(SPEC, settings or AuthSettings())
    register_social_subscribers(runtime)
    app = build_app(
        runtime,
        routers=[
            router,
            discovery_router,
            authorize_router,
            token_router,
            admin_router,
            contacts_router,
            social_router,
            identities_router,
        ],
        on_startup=[start_provider, start_social],
        on_shutdown=[stop_social],
    )
    install_oauth_error_handler(app)
    return app
