from __future__ import annotations

from fastapi import FastAPI

from ciam_auth.api import router
from ciam_auth.models import Base
from ciam_auth.settings import AuthSettings
from ciam_shared.events import UserRegistered
from ciam_shared.service import ServiceRuntime, ServiceSpec, build_app
from ciam_shared.topics import IDENTITY_EVENTS

SPEC = ServiceSpec(
    name="auth",
    title="CIAM auth service",
    metadata=Base.metadata,
    migrations_package="ciam_auth.migrations",
    publishes=(UserRegistered,),
    topics=(IDENTITY_EVENTS,),
)


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    runtime = ServiceRuntime.build(SPEC, settings or AuthSettings())
    return build_app(runtime, routers=[router])
