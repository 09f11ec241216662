from __future__ import annotations

import asyncio
import ssl
from datetime import timedelta

import httpx
import redis.asyncio as aioredis
from fastapi import FastAPI

from ciam_consent_sdk import BrandAppView, ConsentView
from ciam_consent_sdk.metrics import expose as expose_view
from ciam_notifier.api import router
from ciam_notifier.api_messages import router as messages_router
from ciam_notifier.api_streams import router as streams_router
from ciam_notifier.channels import Channel, EmailChannel, SmsChannel
from ciam_notifier.contacts import AuthContacts
from ciam_notifier.events import CONSENT_GROUP, register_subscribers
from ciam_notifier.models import Base
from ciam_notifier.parts import NotifierParts, NotifierRuntime
from ciam_notifier.service.changes import ChangeWriter
from ciam_notifier.service.delivery import DeliveryWorker, Policy
from ciam_notifier.service.sending import MessageWorker, Tuning
from ciam_notifier.service.streams import Broadcaster, prune_forever
from ciam_notifier.settings import NotifierSettings
from ciam_notifier.ssrf import Resolver, WebhookGuard, networks, system_resolver
from ciam_notifier.webhook_http import WebhookClient
from ciam_shared.events import (
    ConsentApplied,
    DataExportPart,
    ErasureConfirmed,
    WebhookDeadLettered,
)
from ciam_shared.service import ServiceRuntime, ServiceSpec, build_app
from ciam_shared.topics import (
    BRAND_APPS,
    CONSENT_APPLIED,
    CONSENT_CHANGES,
    CONSENT_STATE,
    IDENTITY_EVENTS,
    NOTIFIER_DEAD_LETTERS,
    NOTIFIER_DELIVERIES,
    PRIVACY_REPLIES,
    PRIVACY_REQUESTS,
)

# Webhook subscriptions and signed deliveries with retries, dead letters, replay and proof on
# consent.applied; live streams (SSE); marketing over email and SMS, failing closed, with
# suppression lists; confirmation emails of consent changes; email and SMS effectively once.
SPEC = ServiceSpec(
    name="notifier",
    title="CIAM notifier service",
    metadata=Base.metadata,
    migrations_package="ciam_notifier.migrations",
    publishes=(ConsentApplied, WebhookDeadLettered, DataExportPart, ErasureConfirmed),
    topics=(
        CONSENT_CHANGES,
        CONSENT_STATE,
        CONSENT_APPLIED,
        NOTIFIER_DELIVERIES,
        NOTIFIER_DEAD_LETTERS,
        BRAND_APPS,
        IDENTITY_EVENTS,
        PRIVACY_REQUESTS,
        PRIVACY_REPLIES,
    ),
)


def create_app(
    settings: NotifierSettings | None = None,
    *,
    resolver: Resolver = system_resolver,
    webhook_tls: ssl.SSLContext | None = None,
) -> FastAPI:
    """`resolver` (DNS for webhook hosts) and `webhook_tls` (the CAs webhook servers are
    checked against) default to the system's; tests pass their own."""
    settings = settings or NotifierSettings()
    base = ServiceRuntime.build(SPEC, settings)
    guard = WebhookGuard(tuple(networks(settings.webhook_allowlist)), resolver)
    policy = Policy(
        retry_period=timedelta(seconds=settings.retry_period_seconds),
        backoff_base=settings.backoff_base_seconds,
        backoff_max=settings.backoff_max_seconds,
        concurrency=settings.delivery_concurrency,
        poll_seconds=settings.delivery_poll_seconds,
        guard=guard,
        topic_prefix=settings.topic_prefix,
    )
    http = WebhookClient(
        timeout=settings.delivery_timeout_seconds,
        max_connections=200,
        headers={"user-agent": "ciam-notifier/0.1 (+standard-webhooks)"},
        tls=webhook_tls,
    )
    worker = DeliveryWorker(base.sessions, http, policy)
    # Its own Redis client: a subscription waits on its connection longer than the shared
    # client's socket timeout.
    broadcaster = Broadcaster(
        aioredis.from_url(settings.redis_url),
        channel=f"{settings.topic_prefix}ciam:notifier:stream-events",
    )

    view = ConsentView(
        settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix, subscriber="notifier"
    )
    expose_view(view, "notifier")  # its lag on /metrics
    # Every brand app and its declared purposes, from the auth service's compacted apps topic:
    # who may subscribe, stream and send, and which changes reach each app.
    apps = BrandAppView(
        settings.kafka_bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        client_id="notifier-apps",
    )
    gateway_http = httpx.AsyncClient(timeout=settings.delivery_timeout_seconds)
    channels: dict[str, Channel] = {
        "email": EmailChannel(settings.smtp_host, settings.smtp_port, settings.mail_from)
    }
    if settings.sms_gateway_url:
        # The operator's gateway, not a customer-chosen URL: an ordinary client.
        channels["sms"] = SmsChannel(settings.sms_gateway_url, gateway_http)
    auth_http = httpx.AsyncClient(timeout=settings.auth_timeout_seconds)
    contacts = (
        AuthContacts(
            auth_http,
            settings.auth_url or settings.token_issuer,
            settings.auth_client_id,
            settings.auth_client_secret,
        )
        if settings.confirmations_enabled
        else None
    )
    tuning = Tuning(
        poll_seconds=settings.message_poll_seconds,
        settle=timedelta(seconds=settings.settle_seconds),
        lease=timedelta(seconds=settings.claim_lease_seconds),
        confirmation_retry_period=timedelta(seconds=settings.confirmation_retry_period_seconds),
        confirm_unverified=settings.confirm_unverified,
    )
    message_worker = MessageWorker(base.sessions, view, channels, tuning, contacts, apps)
    runtime = base.with_parts(NotifierParts(guard, worker, broadcaster, apps, message_worker))
    apps_ready = asyncio.Event()
    # The consent-change consumer's own connections and in-memory subscription index.
    writer = ChangeWriter(base.engine.url, CONSENT_GROUP)
    register_subscribers(
        runtime,
        apps,
        apps_ready,
        worker.deliver_now,
        worker.has_capacity,
        broadcaster.notify,
        message_worker.wake if contacts is not None else None,
        writer,
    )

    async def on_start(rt: NotifierRuntime) -> None:
        await apps.start()  # returns once every app already on the topic is known
        apps_ready.set()
        await view.start()
        rt.spawn("deliveries", worker.run_forever())
        rt.spawn("messages", message_worker.run_forever())
        rt.spawn("stream-wakes", broadcaster.follow())
        rt.spawn(
            "stream-retention",
            prune_forever(rt.sessions, timedelta(seconds=settings.stream_retention_seconds)),
        )

    async def on_stop(rt: NotifierRuntime) -> None:
        await view.stop()
        await apps.stop()
        await http.aclose()
        await auth_http.aclose()
        await gateway_http.aclose()
        await broadcaster.aclose()
        await writer.aclose()

    return build_app(
        runtime,
        routers=[router, streams_router, messages_router],
        on_startup=[on_start],
        on_shutdown=[on_stop],
    )
