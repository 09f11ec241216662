"""What the data-rights tests share: a signed-in customer with the page's CSRF token, and the
other services' answers published as those services publish them (the end-to-end test in
tests/ runs the real services)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from ciam_devtools.testing.plugin import publish_event
from ciam_shared.events import CloudEvent, DataExportRequested, ErasureConfirmed
from ciam_shared.privacy import pack_part

from ..conftest import PASSWORD, Auth

OTHERS = ("consent", "profile", "notifier")


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


async def signed_in(auth: Auth, address: str) -> tuple[uuid.UUID, str]:
    """A verified, signed-in customer and the CSRF token of their pages."""
    subject = uuid.UUID(await auth.verified_account(address))
    response = await auth.client.post("/v1/sessions", json={"email": address, "password": PASSWORD})
    assert response.status_code == 200, response.text
    page = await auth.client.get("/privacy/export")
    assert page.status_code == 200, page.text
    return subject, field(page.text, "csrf")


def documents(subject: uuid.UUID) -> dict[str, dict[str, Any]]:
    return {
        service: {"service": service, "subject_id": str(subject), "held": [f"{service}-1"]}
        for service in OTHERS
    }


async def answer(
    auth: Auth,
    subject: uuid.UUID,
    request_id: uuid.UUID,
    service: str,
    document: dict[str, Any],
    *,
    public_key: str | None = None,
    **pack: Any,
) -> None:
    """`service`'s part as it would send it; `public_key`: encrypted to another key."""
    request = await request_of(auth, request_id)
    assert request.subject_id == subject
    if public_key is not None:
        request = request.model_copy(update={"public_key": public_key})
    part = pack_part(request, service, document, **pack)  # type: ignore[arg-type]
    event = CloudEvent.wrap(part, source=f"/ciam/{service}")
    await publish_event(auth.ctx.settings.kafka_bootstrap_servers, event, prefix=auth.prefix)


async def request_of(auth: Auth, request_id: uuid.UUID) -> DataExportRequested:
    """The request as auth published it (the services encrypt to its public key)."""
    for row in await auth.staged():
        if row.event_type == DataExportRequested.event_type:
            request = DataExportRequested.model_validate_json(row.payload)
            if request.request_id == request_id:
                return request
    raise AssertionError(f"no request {request_id} staged")


async def confirm(auth: Auth, subject: uuid.UUID, service: str, times: int = 1) -> None:
    confirmed = ErasureConfirmed(subject_id=subject, service=service, erased_at=datetime.now(UTC))  # type: ignore[arg-type]
    event = CloudEvent.wrap(confirmed, source=f"/ciam/{service}")
    await publish_event(
        auth.ctx.settings.kafka_bootstrap_servers, event, prefix=auth.prefix, times=times
    )
