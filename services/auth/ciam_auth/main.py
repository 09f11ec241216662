from __future__ import annotations

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ciam_auth.accounts.api import account_page, me, security_pages
from ciam_auth.accounts.api import accounts as accounts_api
from ciam_auth.accounts.api import pages as accounts_pages
from ciam_auth.accounts.service import accounts
from ciam_auth.adapters.mail import SmtpServer
from ciam_auth.adapters.passwords import Passwords
from ciam_auth.adapters.sealing import KeyEncryption
from ciam_auth.adapters.throttle import Throttle, ThrottlePolicy
from ciam_auth.adapters.worker import Retry
from ciam_auth.assets import router as assets_router
from ciam_auth.context import AuthContext
from ciam_auth.datarights.api.admin import router as erasures_router
from ciam_auth.datarights.api.pages import router as datarights_router
from ciam_auth.datarights.events import subscribe as subscribe_datarights
from ciam_auth.datarights.sweeper import ExportSweeper
from ciam_auth.errors import Throttled
from ciam_auth.models import Base
from ciam_auth.oidc.api.admin import router as admin_router
from ciam_auth.oidc.api.authorize import router as authorize_router
from ciam_auth.oidc.api.contacts import router as contacts_router
from ciam_auth.oidc.api.discovery import router as discovery_router
from ciam_auth.oidc.api.token import router as token_router
from ciam_auth.oidc.errors import install_oauth_error_handler
from ciam_auth.oidc.provider import Provider, start_provider
from ciam_auth.oidc.startup import start_service_clients
from ciam_auth.parts import AuthParts, AuthRuntime
from ciam_auth.passkeys.api import ceremonies as passkeys_api
from ciam_auth.passkeys.api import email_code as email_code_pages
from ciam_auth.passkeys.api import pages as passkeys_pages
from ciam_auth.passkeys.service import email_code, signup
from ciam_auth.passkeys.service.manage import listing as passkeys_listing
from ciam_auth.privacy.api.pages import router as privacy_router
from ciam_auth.queues.jobs import Jobs
from ciam_auth.queues.mailer import Mailer
from ciam_auth.sessions.api import pages as sessions_pages
from ciam_auth.sessions.api import sessions as sessions_api
from ciam_auth.sessions.store import SessionStore
from ciam_auth.settings import AuthSettings
from ciam_auth.social.api.identities import router as identities_router
from ciam_auth.social.api.mail_link import router as mail_link_router
from ciam_auth.social.api.sign_in import router as social_router
from ciam_auth.social.events import register_subscribers as register_social_subscribers
from ciam_auth.social.runtime import build_social, start_social, stop_social
from ciam_shared.events import (
    BrandAppDeleted,
    BrandAppRegistered,
    DataExportPart,
    DataExportRequested,
    EmailVerified,
    IdentityLinked,
    IdentityUnlinked,
    PasskeyAdded,
    PasskeyRemoved,
    PasswordChanged,
    SecondFactorChanged,
    SocialImportRefreshed,
    SocialImportWithdrawn,
    UserDeleted,
    UserRegistered,
    UserSignedIn,
)
from ciam_shared.http.problems import problem
from ciam_shared.service import ServiceRuntime, ServiceSpec, build_app
from ciam_shared.topics import (
    BRAND_APPS,
    CONSENT_CHANGES,
    IDENTITY_EVENTS,
    PRIVACY_REPLIES,
    PRIVACY_REQUESTS,
)

SPEC = ServiceSpec(
    name="auth",
    title="CIAM auth service",
    metadata=Base.metadata,
    migrations_package="ciam_auth.migrations",
    publishes=(
        UserRegistered,
        EmailVerified,
        UserSignedIn,
        PasswordChanged,
        SecondFactorChanged,
        UserDeleted,
        BrandAppRegistered,
        BrandAppDeleted,
        IdentityLinked,
        IdentityUnlinked,
        SocialImportRefreshed,
        SocialImportWithdrawn,
        DataExportRequested,
        DataExportPart,
        PasskeyAdded,
        PasskeyRemoved,
    ),
    topics=(IDENTITY_EVENTS, BRAND_APPS, CONSENT_CHANGES, PRIVACY_REQUESTS, PRIVACY_REPLIES),
)


# Calls to the platform's own services (consent) from auth's pages: well under a browser's
# patience; the page then says the consent service is not available.
SERVICES_TIMEOUT_S = 5.0


def build_context(runtime: ServiceRuntime[None], settings: AuthSettings) -> AuthContext:
    # Redis keys carry the topic prefix too: it isolates test runs sharing one Redis.
    prefix = f"auth:{settings.topic_prefix}"
    policy = ThrottlePolicy(
        window_seconds=settings.throttle_window_seconds,
        base_delay=settings.throttle_base_delay,
        pair_free=settings.throttle_pair_free,
        pair_max_delay=settings.throttle_pair_max_delay,
        account_free=settings.throttle_account_free,
        account_max_delay=settings.throttle_account_max_delay,
        client_limit=settings.throttle_client_limit,
    )
    return AuthContext(
        settings=settings,
        passwords=Passwords(settings),
        sessions=SessionStore(
            runtime.redis,
            idle_seconds=settings.session_idle_seconds,
            absolute_seconds=settings.session_absolute_seconds,
            prefix=prefix,
        ),
        throttle=Throttle(runtime.redis, policy, prefix=prefix),
        mailer=Mailer(
            runtime.sessions,
            SmtpServer(
                settings.smtp_host,
                settings.smtp_port,
                settings.mail_from,
                directory=settings.mail_dir,
            ),
            retry=Retry(
                max_attempts=settings.mail_max_attempts,
                base_seconds=settings.mail_retry_base_seconds,
                max_seconds=settings.mail_retry_max_seconds,
            ),
            lease_seconds=settings.mail_lease_seconds,
            poll_seconds=settings.queue_poll_seconds,
        ),
        jobs=Jobs(
            runtime.sessions,
            retry=Retry(
                max_attempts=settings.job_max_attempts,
                base_seconds=settings.job_retry_base_seconds,
            ),
            poll_seconds=settings.queue_poll_seconds,
        ),
        redis=runtime.redis,
        db=runtime.sessions,
        redis_prefix=prefix,
        sealing=KeyEncryption(
            settings.key_encryption_secret.get_secret_value(),
            development=settings.is_development,
        ),
        services_http=httpx.AsyncClient(timeout=SERVICES_TIMEOUT_S),
    )


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    base = ServiceRuntime.build(SPEC, settings)
    # Built here, connected by the start hooks below: nothing connects before the lifespan.
    context = build_context(base, settings)
    provider = Provider.build(base, context.sealing)
    social = build_social(settings, provider, base.redis)
    runtime: AuthRuntime = base.with_parts(
        AuthParts(
            context,
            provider,
            social,
            linked_providers=social.linked_providers,
            passkeys_of=passkeys_listing,
        )
    )
    accounts.install_jobs(context)
    email_code.install_jobs(context)
    signup.install_jobs(context)
    # Ending a session (logout, password change) revokes its tokens.
    context.sessions.on_sessions_revoked(provider.on_sessions_revoked)
    register_social_subscribers(base)
    subscribe_datarights(base.broker, prefix=base.topic_prefix, sessions=base.sessions, ctx=context)
    sweeper = ExportSweeper(base.sessions, settings.export_sweep_seconds)

    async def start(runtime: AuthRuntime) -> None:
        await context.passwords.load()
        if settings.queue_workers_enabled:
            runtime.spawn("mailer", context.mailer.run())
            runtime.spawn("jobs", context.jobs.run())
            runtime.spawn("export-sweeper", sweeper.run())

    async def stop(runtime: AuthRuntime) -> None:
        context.passwords.close()
        await context.services_http.aclose()
        await stop_social(social)

    app = build_app(
        runtime,
        routers=[
            # First: the token endpoint takes most requests (refreshes, grants, introspection)
            # and each request tries the routers in order (matching was 8% of a refresh).
            token_router,
            accounts_api.router,
            sessions_api.router,
            me.router,
            sessions_pages.router,
            account_page.router,
            accounts_pages.router,
            security_pages.router,
            discovery_router,
            authorize_router,
            admin_router,
            contacts_router,
            # Before social_router: its `/login/social/{provider}` would take `/confirm`.
            mail_link_router,
            social_router,
            identities_router,
            privacy_router,
            datarights_router,
            erasures_router,
            assets_router,
            passkeys_api.router,
            passkeys_api.me,
            passkeys_pages.router,
            email_code_pages.router,
        ],
        on_startup=[
            start,
            lambda runtime: start_provider(runtime, provider),
            start_service_clients,
            lambda runtime: start_social(runtime, social),
        ],
        on_shutdown=[stop],
    )
    install_oauth_error_handler(app)

    @app.exception_handler(Throttled)
    async def _throttled(request: Request, exc: Throttled) -> JSONResponse:
        response = problem(
            exc.status,
            title=exc.title,
            detail=exc.detail,
            type_slug=exc.type_slug,
            instance=request.url.path,
            **exc.extensions,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    return app
