"""Notifier events: delivery outcomes and dead letters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from ciam_shared.events.envelope import EventData
from ciam_shared.topics import NOTIFIER_DEAD_LETTERS


class WebhookDeadLettered(EventData):
    """A webhook delivery ran out of retries; replay it on request once the endpoint is fixed."""

    event_type: ClassVar[str] = "dev.ciam.notifier.webhook.dead-lettered.v1"
    topic_base_name: ClassVar[str] = NOTIFIER_DEAD_LETTERS.base_name

    subject_id: uuid.UUID
    subscription_id: uuid.UUID
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type_delivered: str
    attempts: int
    first_attempt_at: datetime | None
    last_error: str | None
