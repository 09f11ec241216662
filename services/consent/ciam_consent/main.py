from __future__ import annotations

import asyncio
import gc
import logging

from fastapi import FastAPI

from ciam_consent.api import routers
from ciam_consent.events import register_subscribers
from ciam_consent.integrity import ReceiptSigner
from ciam_consent.models import Base
from ciam_consent.parts import ConsentParts, ConsentRuntime
from ciam_consent.service import catalogue, lifecycle
from ciam_consent.service.recording import Controller, Recorder
from ciam_consent.settings import ConsentSettings
from ciam_consent_sdk import BrandAppView
from ciam_shared.db import unit_of_work
from ciam_shared.events import (
    ConsentDenied,
    ConsentExpired,
    ConsentGranted,
    ConsentReconsentRequired,
    ConsentState,
    ConsentWithdrawn,
    DataExportPart,
    ErasureConfirmed,
    PurposeDefined,
    SubjectConsentsErased,
    encode,
)
from ciam_shared.service import ServiceRuntime, ServiceSpec, build_app
from ciam_shared.topics import (
    BRAND_APPS,
    CONSENT_APPLIED,
    CONSENT_CHANGES,
    CONSENT_PURPOSES,
    CONSENT_STATE,
    IDENTITY_EVENTS,
    PRIVACY_REPLIES,
    PRIVACY_REQUESTS,
)

log = logging.getLogger(__name__)

SPEC = ServiceSpec(
    name="consent",
    title="CIAM consent service",
    metadata=Base.metadata,
    migrations_package="ciam_consent.migrations",
    publishes=(
        ConsentGranted,
        ConsentDenied,
        ConsentWithdrawn,
        ConsentExpired,
        ConsentReconsentRequired,
        SubjectConsentsErased,
        ConsentState,
        PurposeDefined,
        DataExportPart,
        ErasureConfirmed,
    ),
    topics=(
        IDENTITY_EVENTS,
        CONSENT_CHANGES,
        CONSENT_STATE,
        CONSENT_PURPOSES,
        CONSENT_APPLIED,
        BRAND_APPS,
        PRIVACY_REQUESTS,
        PRIVACY_REPLIES,
    ),
)


def create_app(settings: ConsentSettings | None = None) -> FastAPI:
    settings = settings or ConsentSettings()
    base = ServiceRuntime.build(SPEC, settings)
    recorder = Recorder(
        signer=ReceiptSigner(
            settings.receipt_signing_key.get_secret_value(), development=settings.is_development
        ),
        controller=Controller(
            settings.controller_name,
            settings.controller_contact,
            settings.policy_url,
            settings.jurisdiction,
        ),
        topic_prefix=settings.topic_prefix,
    )
    apps = BrandAppView(
        settings.kafka_bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        client_id="consent-apps",
    )
    runtime = base.with_parts(ConsentParts(recorder, apps))
    register_subscribers(runtime)

    async def on_start(rt: ConsentRuntime) -> None:
        phase = rt.start_times.phase
        # Returns once every app already on the topic is known: no app is refused at start.
        async with phase("brand-app view"):
            await apps.start()
        if settings.seed_catalogue:
            async with phase("catalogue seed"), unit_of_work(rt.sessions) as session:
                added = await catalogue.seed(session)
            if added:
                log.info("seeded the purpose catalogue", extra={"purposes": added})
        async with phase("catalogue announced"):
            await _announce_catalogue(rt)
        rt.spawn("expiry", _expire_forever(rt, recorder, settings.expiry_sweep_seconds))
        # Everything built so far (modules, the app, the apps view) lives as long as the
        # process: out of the collector's sight, so a full collection scans only what requests
        # allocate. A profile put collections, inside SQLAlchemy's per-transaction
        # WeakKeyDictionary, at a tenth of a change's CPU time (bench/README.md).
        gc.collect()
        gc.freeze()

    async def on_stop(rt: ConsentRuntime) -> None:
        await apps.stop()

    return build_app(runtime, routers=routers, on_startup=[on_start], on_shutdown=[on_stop])


async def _announce_catalogue(runtime: ConsentRuntime) -> None:
    """Publish every purpose on the compacted purposes topic (idempotent: the same content
    again). Straight to the broker rather than the outbox: it is reference data repeated at
    every start, so a publish lost in a crash is made good by the next start."""
    async with unit_of_work(runtime.sessions) as session:
        events = await catalogue.catalogue_events(session)
    # Sent together, acknowledged together (one purpose after another waited for each ack:
    # 1.8-2.0 s of a restart on a loaded machine); one producer keeps each key's order.
    topic = CONSENT_PURPOSES.name(runtime.topic_prefix)
    sent = []
    for event in events:
        key, value, headers = encode(event)
        sent.append(
            await runtime.broker.publish(
                value, topic=topic, key=key, headers=headers, no_confirm=True
            )
        )
    await asyncio.gather(*sent)


async def _expire_forever(runtime: ConsentRuntime, recorder: Recorder, every: float) -> None:
    while True:
        try:
            async with unit_of_work(runtime.sessions) as session:
                moved = await lifecycle.expire_due(session, recorder)
            if moved:
                log.info("consents expired", extra={"count": moved})
        except Exception:
            log.exception("expiry sweep failed; retrying")
        await asyncio.sleep(every)
