"""The privacy page's data, all of it at the consent service, read and changed over its HTTP
API with the customer's first-party token (never its tables: docs/architecture.md).

Why HTTP and not the `ciam.consent.purposes` / `ciam.consent.state` topics: the page must show
the state the consent service holds at the moment of the request, including a change made a
second ago on this page (a 303 back to /privacy must show it), and a change must be on record
(history entry, receipt, outbox) before the page says so. Auth follows neither topic today.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ciam_auth.privacy.errors import ChangeRefused, ConsentUnavailable
from ciam_auth.privacy.schemas import (
    Applied,
    Consent,
    Consents,
    History,
    HistoryEntry,
    Latest,
    Propagation,
    Purpose,
    Receipt,
)

log = logging.getLogger(__name__)
Action = Literal["grant", "withdraw"]
M = TypeVar("M", bound=BaseModel)
# `source.device` of a change made on this page: the consent API keeps the app of an app
# token only, so the page is named here, where the history shows it (service.py reads it).
PAGE_SOURCE = "ciam-auth/privacy"


class ConsentRepository:
    def __init__(
        self, base_url: str, http: httpx.AsyncClient, token: str, *, gpc: bool = False
    ) -> None:
        self._base = base_url.rstrip("/")
        self._http = http
        self._headers = {"authorization": f"Bearer {token}"}
        if gpc:
            # The browser's Global Privacy Control signal, passed on: the consent service
            # records it (a withdrawal of every sale_or_share purpose) and refuses a grant of
            # such a purpose in the same request.
            self._headers["sec-gpc"] = "1"

    async def catalogue(self) -> list[Purpose]:
        response = await self._call("GET", "/v1/purposes")
        body = _body(response)
        if not isinstance(body, list):
            raise ConsentUnavailable("The consent service answered something unexpected.")
        return [_parse(Purpose, item) for item in body]

    async def consents_of(self, subject_id: uuid.UUID) -> list[Consent]:
        response = await self._call("GET", f"/v1/subjects/{subject_id}/consents", missing_ok=True)
        return [] if response is None else _parse(Consents, _body(response)).consents

    async def latest_of(self, subject_id: uuid.UUID) -> list[HistoryEntry]:
        """Each purpose's newest change: who made it, where (one entry per purpose, however
        long the history)."""
        path = f"/v1/subjects/{subject_id}/history/latest"
        response = await self._call("GET", path, missing_ok=True)
        return [] if response is None else _parse(Latest, _body(response)).entries

    async def full_history(self, subject_id: uuid.UUID) -> History:
        """Every change in order, with the consent service's verdict on the hash chain."""
        response = await self._call("GET", f"/v1/subjects/{subject_id}/history", missing_ok=True)
        return History(entries=[]) if response is None else _parse(History, _body(response))

    async def receipt(self, subject_id: uuid.UUID, version: int) -> Receipt:
        path = f"/v1/subjects/{subject_id}/receipts/{version}"
        return _parse(Receipt, _body(await self._call("GET", path)))

    async def receipt_keys(self) -> dict[str, object]:
        """The consent service's published receipt keys (a JWKS), to verify a receipt."""
        body = _body(await self._call("GET", "/v1/receipts/jwks.json"))
        if not isinstance(body, dict):
            raise ConsentUnavailable("The consent service answered something unexpected.")
        return body

    async def propagation_of(self, subject_id: uuid.UUID, version: int | None) -> Propagation:
        """The proof of change `version`, or of the latest change (None): that change alone
        is read, not the whole history."""
        query = f"version={version}" if version is not None else "last=1"
        path = f"/v1/subjects/{subject_id}/propagation?{query}"
        response = await self._call("GET", path, missing_ok=True)
        if response is None:
            return Propagation(subscribers=[], changes=[])
        return _parse(Propagation, _body(response))

    async def change(
        self,
        subject_id: uuid.UUID,
        purpose: str,
        action: Action,
        *,
        device: str,
        channel: str | None = None,
        brand: str | None = None,
    ) -> int:
        """One call: the consent service records it whole (history, receipt, event) or not.
        Returns the subject's version after it. Without `brand` and `channel`: every brand
        and channel."""
        body: dict[str, object] = {
            "collected_via": "web",
            "device": f"{PAGE_SOURCE}; {device}"[:200],
        }
        body |= {k: v for k, v in (("channel", channel), ("brand", brand)) if v is not None}
        path = f"/v1/subjects/{subject_id}/consents/{purpose}/{action}"
        return _parse(Applied, _body(await self._call("POST", path, json=body))).version

    async def withdraw_all(
        self, subject_id: uuid.UUID, purpose: str, scopes: list[tuple[str | None, str | None]], *,
        device: str,
    ) -> int:  # fmt: skip
        """Withdraw the purpose for each (brand, channel) given, in one batch: the consent
        service applies all of them or none."""
        body = {
            "changes": [
                {"purpose": purpose, "status": "withdrawn", "brand": brand, "channel": channel}
                for brand, channel in scopes
            ],
            "collected_via": "web",
            "device": f"{PAGE_SOURCE}; {device}"[:200],
        }
        response = await self._call("POST", f"/v1/subjects/{subject_id}/consents", json=body)
        return _parse(Applied, _body(response)).version

    async def _call(
        self, method: str, path: str, *, json: object = None, missing_ok: bool = False
    ) -> httpx.Response | None:
        if not self._base:
            raise ConsentUnavailable("No consent service is configured (AUTH_CONSENT_URL).")
        try:
            response = await self._http.request(
                method, self._base + path, json=json, headers=self._headers
            )
        except httpx.HTTPError as exc:
            log.warning("consent service unreachable", extra={"error": type(exc).__name__})
            raise ConsentUnavailable("The consent service did not answer.") from exc
        if response.status_code == 404 and missing_ok:
            return None  # a subject with nothing recorded yet
        if response.status_code in (400, 403, 404, 409, 422):
            log.warning("consent service refused", extra={"status": response.status_code})
            raise ChangeRefused("The consent service refused the request.")
        if response.status_code != 200:
            log.warning("consent service failed", extra={"status": response.status_code})
            raise ConsentUnavailable("The consent service answered with an error.")
        return response


def _body(response: httpx.Response | None) -> object:
    try:
        return response.json() if response is not None else None
    except ValueError as exc:
        raise ConsentUnavailable("The consent service answered something unexpected.") from exc


def _parse(model: type[M], value: object) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ConsentUnavailable("The consent service answered something unexpected.") from exc
