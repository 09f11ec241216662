"""Kafka entrypoint: a withdrawn (denied, expired) `social-import` consent stops the import of
its field (the consent's channel), or of every field when the consent names no channel.

A module-level handler with a typed payload (ciam_shared.handlers): it runs in the
transaction of its record's inbox row; the topic prefix reaches it through FastStream's context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_auth.social import service
from ciam_auth.social.consent import PURPOSE
from ciam_shared.events import ConsentChange, ConsentDenied, ConsentExpired, ConsentWithdrawn
from ciam_shared.handlers import Context, Session, handles, inbox_subscriber, provide_parts
from ciam_shared.service import ServiceRuntime
from ciam_shared.topics import CONSENT_CHANGES

GROUP = "auth.social-import-consents"
# The capability's own key in the broker's context: auth's capabilities share one broker.
HANDLING = "ciam_auth_social"  # no dot: Context reads a dot as an attribute


@dataclass(frozen=True)
class Handling:
    """What the handler needs of the running service."""

    topic_prefix: str


Parts = Annotated[Handling, Context(HANDLING)]


async def on_consent_ended(data: ConsentChange, session: Session, parts: Parts) -> None:
    """A `social-import` consent ended: the imported fields go, and are imported no more."""
    if data.purpose != PURPOSE:
        return
    await service.withdraw_import(
        session,
        data.subject_id,
        {data.channel} if data.channel else None,
        topic_prefix=parts.topic_prefix,
    )


def subscribe(
    broker: KafkaBroker, *, prefix: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The social capability's subscriber on `broker` (the service's, or a test broker's)."""
    provide_parts(broker, Handling(prefix), key=HANDLING)
    consents = inbox_subscriber(
        broker,
        topic=CONSENT_CHANGES,
        prefix=prefix,
        group_id=GROUP,
        sessions=sessions,
        description="social-import consents ended: stop importing and remove imported fields.",
    )
    handles(consents, ConsentWithdrawn, ConsentDenied, ConsentExpired)(on_consent_ended)


def register_subscribers(runtime: ServiceRuntime) -> None:
    subscribe(runtime.broker, prefix=runtime.topic_prefix, sessions=runtime.sessions)
