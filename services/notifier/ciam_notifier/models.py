"""The notifier's schema. Foundation: only the shared outbox and processed-events tables;
subscriptions, deliveries and suppression lists come with the notifier issue (#7)."""

from __future__ import annotations

from ciam_shared.db import ServiceBase, new_metadata
from ciam_shared.inbox import processed_events_table
from ciam_shared.outbox import outbox_table


class Base(ServiceBase):
    __abstract__ = True
    metadata = new_metadata()


outbox = outbox_table(Base.metadata)
processed_events = processed_events_table(Base.metadata)
