"""Request ids, access logs, Prometheus request metrics and the baseline security headers of
every response, as one pure-ASGI middleware."""

from __future__ import annotations

import logging
import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ciam_shared.logging import request_id_var

log = logging.getLogger("ciam.access")

REQUESTS = Counter(
    "ciam_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "ciam_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
HEADER = b"x-request-id"
# On every response of every service unless the handler set its own (docs/security.md,
# "Hardening"): no MIME sniffing (a JSON or text answer is never run as a script or page);
# `same-origin`: a full Referer only to our own pages (their URLs carry reset and verification
# tokens and OIDC parameters), none to other sites. Not `no-referrer`: under it browsers send
# `Origin: null` on our own form posts, and the auth pages refuse a POST whose Origin is not
# their own.
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        rid = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (HEADER, rid.encode())]
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            LATENCY.labels(self.service, scope["method"], path).observe(elapsed)
            if path not in ("/healthz", "/readyz", "/metrics"):
                log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"status": status, "ms": round(elapsed * 1000, 2)},
                )
            request_id_var.reset(token)
