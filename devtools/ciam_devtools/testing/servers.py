"""An ASGI app served by uvicorn on a loopback port, inside the test's event loop: another
service the code under test calls over real HTTP (no mock of our own services)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import uvicorn

from ciam_devtools.testing.plugin import eventually


class LoopbackServer:
    """`start()` builds a new app with `make_app` and serves it; `stop()` ends it. Starting
    again after a stop is a restart (a new app on the same port and database)."""

    def __init__(self, make_app: Callable[[], Any], port: int) -> None:
        self.make_app, self.port = make_app, port
        self.url = f"http://127.0.0.1:{port}"
        self.app: Any = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.app = self.make_app()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        server = self._server

        async def started() -> bool:
            return server.started

        await eventually(started, timeout=60)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None
