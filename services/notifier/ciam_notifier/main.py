from __future__ import annotations

from fastapi import FastAPI

from ciam_notifier.models import Base
from ciam_notifier.settings import NotifierSettings
from ciam_shared.service import ServiceRuntime, ServiceSpec, build_app
from ciam_shared.topics import NOTIFIER_DEAD_LETTERS, NOTIFIER_DELIVERIES

# Foundation: the notifier runs with its database, Redis, broker and relay wired, and no
# subscribers yet; webhooks, streams and channels are the notifier issue (#7).
SPEC = ServiceSpec(
    name="notifier",
    title="CIAM notifier service",
    metadata=Base.metadata,
    migrations_package="ciam_notifier.migrations",
    topics=(NOTIFIER_DELIVERIES, NOTIFIER_DEAD_LETTERS),
)


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    runtime = ServiceRuntime.build(SPEC, settings or NotifierSettings())
    return build_app(runtime)
