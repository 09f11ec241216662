from __future__ import annotations

from fastapi import FastAPI

from ciam_profile.api import router
from ciam_profile.events import register_subscribers
from ciam_profile.models import Base
from ciam_profile.settings import ProfileSettings
from ciam_shared.events import ProfileCreated
from ciam_shared.service import ServiceRuntime, ServiceSpec, build_app
from ciam_shared.topics import IDENTITY_EVENTS, PROFILE_EVENTS

SPEC = ServiceSpec(
    name="profile",
    title="CIAM profile service",
    metadata=Base.metadata,
    migrations_package="ciam_profile.migrations",
    publishes=(ProfileCreated,),
    topics=(IDENTITY_EVENTS, PROFILE_EVENTS),
)


def create_app(settings: ProfileSettings | None = None) -> FastAPI:
    runtime = ServiceRuntime.build(SPEC, settings or ProfileSettings())
    register_subscribers(runtime)
    return build_app(runtime, routers=[router])
