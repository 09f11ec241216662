"""Recording the customer's import choices in the consent service.

Why HTTP and not an event: the choice must be on record (with its history entry and receipt)
before a single field is imported, and the consent service takes consents through its API
only. The call comes first, with the account id chosen in advance; the account, the identity
and the import commit afterwards. If the consent service does not answer, nothing is imported
(the sign-in itself goes on): an import without a recorded consent never happens.

The auth service is the token issuer, so it signs its own app token (`sub` = `client_id` =
`ciam-auth`, scope `consent:write`) instead of a client-credentials round trip to itself.
Each field is one consent of purpose `social-import`, qualified by the field in `channel`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import httpx

log = logging.getLogger(__name__)
PURPOSE = "social-import"
CLIENT_ID = "ciam-auth"
SCOPE = "consent:write"


class ConsentRecorder:
    def __init__(self, base_url: str, token: Callable[[], str], http: httpx.AsyncClient) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._http = http

    @property
    def configured(self) -> bool:
        return bool(self._base)

    async def record(
        self, subject_id: uuid.UUID, *, granted: list[str], denied: list[str], device: str
    ) -> bool:
        """True when the consent service recorded every choice (all or nothing)."""
        if not self._base or not (granted or denied):
            return False
        changes = [
            {"purpose": PURPOSE, "status": status, "channel": name}
            for names, status in ((granted, "granted"), (denied, "denied"))
            for name in names
        ]
        try:
            response = await self._http.post(
                f"{self._base}/v1/subjects/{subject_id}/consents",
                json={"changes": changes, "collected_via": "web", "device": device[:200]},
                headers={"authorization": f"Bearer {self._token()}"},
            )
        except httpx.HTTPError as exc:
            log.warning("consent service unreachable", extra={"error": type(exc).__name__})
            return False
        if response.status_code != 200:
            log.warning("consent service refused", extra={"status": response.status_code})
            return False
        return True
