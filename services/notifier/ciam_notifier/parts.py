"""The notifier's own parts: built once by `create_app`, carried by its runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from ciam_consent_sdk import BrandAppView
from ciam_notifier.service.delivery import DeliveryWorker
from ciam_notifier.service.sending import MessageWorker
from ciam_notifier.service.streams import Broadcaster
from ciam_notifier.ssrf import WebhookGuard
from ciam_shared.service import ServiceRuntime, parts_dependency
from ciam_shared.tokens.apps import AppDirectory


@dataclass(frozen=True)
class NotifierParts:
    webhook_guard: WebhookGuard
    deliveries: DeliveryWorker
    broadcaster: Broadcaster
    # Every brand app and its declared purposes, from the auth service's compacted apps topic:
    # who may subscribe, stream and send, and which changes reach each app (ciam_notifier.apps).
    apps: BrandAppView
    messages: MessageWorker


NotifierRuntime = ServiceRuntime[NotifierParts]
PartsDep = Annotated[NotifierParts, Depends(parts_dependency(NotifierParts))]


async def app_directory(parts: PartsDep) -> AppDirectory:
    return parts.apps


AppsDep = Annotated[AppDirectory, Depends(app_directory)]
