"""The names of an app's declared purposes for the consent screen, from the consent service's
public catalogue (`GET /v1/purposes`, no token). The screen must not wait on it: past a short
timeout, or with the consent service down, the purposes show as their ids."""

from __future__ import annotations

import logging

import httpx
from fastapi import Request

from ciam_auth.parts import parts_of

log = logging.getLogger(__name__)
TIMEOUT_S = 2.0


async def purpose_names(request: Request, purposes: list[str], lang: str) -> list[str]:
    if not purposes:
        return []
    base = parts_of(request).context.settings.consent_url.rstrip("/")
    names: dict[str, str] = {}
    if base:
        try:
            http = parts_of(request).context.services_http
            response = await http.get(f"{base}/v1/purposes", timeout=TIMEOUT_S)
            if response.status_code == 200:
                for item in response.json():
                    found = item.get("names") or {}
                    names[str(item["id"])] = found.get(lang) or found.get("en") or item["id"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("purpose catalogue unavailable", extra={"error": type(exc).__name__})
    return [names.get(p, p) for p in purposes]
