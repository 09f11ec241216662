"""The OIDC provider's start hook for the operator's declared machine clients: an edge, like a
route, so it owns its transaction (the use case, `service_clients.upsert`, never commits)."""

from __future__ import annotations

import logging
from typing import Any

from ciam_auth.oidc.declaration import ServiceClientConfig
from ciam_auth.oidc.service.service_clients import upsert
from ciam_shared.db import unit_of_work
from ciam_shared.service import ServiceRuntime

log = logging.getLogger(__name__)


async def start_service_clients(runtime: ServiceRuntime[Any]) -> None:
    """The start hook: one transaction for the whole declaration (all or nothing)."""
    declared: list[ServiceClientConfig] = getattr(runtime.settings, "service_clients", [])
    if not declared:
        return
    async with unit_of_work(runtime.sessions) as session:
        # One order for every replica, so two of them never wait on each other's rows.
        outcomes = {
            c.client_id: await upsert(session, c, topic_prefix=runtime.topic_prefix)
            for c in sorted(declared, key=lambda c: c.client_id)
        }
    for client_id, outcome in outcomes.items():
        # Ids only: the secrets stay out of every log line.
        log.info("service client %s %s", client_id, outcome)
    for weak in (c.client_id for c in declared if c.weak):
        log.warning("service client %s has a weak secret (accepted in development only)", weak)
