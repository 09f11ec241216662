"""Request bodies over the limit are refused before they are read (413 problem details)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ciam_shared.http.problems import problem


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            response = problem(
                413,
                title="Payload too large",
                detail=f"Request bodies are limited to {self.max_bytes} bytes.",
                type_slug="payload-too-large",
                instance=scope.get("path"),
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            # A body without Content-Length (chunked) is counted as it arrives.
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, f"Request bodies are limited to {self.max_bytes} bytes.")
            return message

        await self.app(scope, limited, send)
