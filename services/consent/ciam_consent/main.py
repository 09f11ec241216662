from __future__ import annotations

from fastapi import FastAPI

from ciam_consent.api import router
from ciam_consent.events import register_subscribers
from ciam_consent.models import Base
from ciam_consent.settings import ConsentSettings
from ciam_shared.service import ServiceRuntime, ServiceSpec, build_app
from ciam_shared.topics import CONSENT_APPLIED, CONSENT_CHANGES, CONSENT_STATE, IDENTITY_EVENTS

SPEC = ServiceSpec(
    name="consent",
    title="CIAM consent service",
    metadata=Base.metadata,
    migrations_package="ciam_consent.migrations",
    publishes=(),
    topics=(IDENTITY_EVENTS, CONSENT_CHANGES, CONSENT_STATE, CONSENT_APPLIED),
)


def create_app(settings: ConsentSettings | None = None) -> FastAPI:
    runtime = ServiceRuntime.build(SPEC, settings or ConsentSettings())
    register_subscribers(runtime)
    return build_app(runtime, routers=[router])
