"""Brand apps for tests, published on the compacted apps topic as the auth service's relay does.

Consent, notifier and profile refuse an app token whose client id their `BrandAppView` does
not know, so a test that mints app tokens with the `TokenIssuer` registers those apps first.
Published before a service starts, a registration is known when its start returns (the view
bootstraps from the topic); published later, wait for the service's view (`eventually`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from ciam_devtools.testing.plugin import publish_event
from ciam_shared.events import BrandAppDeleted, BrandAppRegistered, CloudEvent
from ciam_shared.topics import BRAND_APPS, ensure_topics

SOURCE = "/ciam/auth"
# Every purpose the consent service seeds (its catalogue.json): what a test or bench app that
# may touch any purpose declares.
CATALOGUE_PURPOSES = (
    "email-marketing",
    "sms-marketing",
    "personalisation",
    "analytics",
    "partner-sharing",
    "social-import",
    "order-fulfilment",
)


async def register_app(
    bootstrap: str,
    client_id: str,
    purposes: Sequence[str],
    *,
    prefix: str,
    brand: str | None = "acme",
    scopes: Sequence[str] = (),
    name: str | None = None,
) -> BrandAppRegistered:
    """Publish the app's whole registration (a later call replaces it, e.g. fewer purposes)."""
    await ensure_topics(bootstrap, [BRAND_APPS], prefix=prefix)
    now = datetime.now(UTC)
    registered = BrandAppRegistered(
        client_id=client_id,
        name=name or client_id,
        brand=brand,
        purposes=list(purposes),
        scopes=list(scopes),
        first_party=True,
        registered_at=now,
        updated_at=now,
    )
    await publish_event(bootstrap, CloudEvent.wrap(registered, source=SOURCE), prefix=prefix)
    return registered


async def delete_app(
    bootstrap: str, client_id: str, *, prefix: str, tombstone: bool = True
) -> None:
    """Publish the app's deletion and, as auth does, a tombstone for its key."""
    deleted = BrandAppDeleted(client_id=client_id, deleted_at=datetime.now(UTC))
    await publish_event(bootstrap, CloudEvent.wrap(deleted, source=SOURCE), prefix=prefix)
    if tombstone:
        await publish_app_tombstone(bootstrap, client_id, prefix=prefix)


async def publish_app_tombstone(bootstrap: str, client_id: str, *, prefix: str) -> None:
    """Only the tombstone: what a consumer sees once compaction removed the deletion event."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(BRAND_APPS.name(prefix), value=None, key=client_id.encode())
    finally:
        await producer.stop()
