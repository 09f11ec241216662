"""A brand app that follows its customers' consents live, with the consent SDK only.

    python examples/brand_app.py --client-id app_... --subscriber demo-shop --port 8011

Its name, brand and declared purposes are its registration at the auth service, read back
from the compacted apps topic (BrandAppView); the consents come from the compacted consent
state topic (ConsentView), which the SDK acknowledges change by change as `--subscriber`.
`/` shows each customer's consents for the declared purposes and a live log of changes
(Server-Sent Events from `/events`); `/api/consents` is the same as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from html import escape
from itertools import islice
from pathlib import Path
from string import Template
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route

from ciam_consent_sdk import BrandAppView, ConsentState, ConsentUpdate, ConsentView, deciding_record

PAGE = Template((Path(__file__).parent / "brand_app.html").read_text())
Statuses = dict[str, str | None]  # purpose -> status of the record that decides, None: none


class ConsentBoard:
    def __init__(self, kafka: str, topic_prefix: str, client_id: str, subscriber: str) -> None:
        self.client_id = client_id
        self.apps = BrandAppView(kafka, topic_prefix=topic_prefix, client_id=f"{subscriber}-apps")
        # notify_bootstrap: the callback also sees every customer known at start (to list them).
        self.view = ConsentView(
            kafka, topic_prefix=topic_prefix, subscriber=subscriber, notify_bootstrap=True
        )
        self.view.on_change(self.on_change)
        self.customers: dict[str, None] = {}  # subject ids, the latest changed last
        self.log: deque[dict[str, Any]] = deque(maxlen=50)
        self.listeners: set[asyncio.Queue[dict[str, Any] | None]] = set()  # None: the end

    @property
    def purposes(self) -> list[str]:
        return sorted(self.apps.purposes_of(self.client_id))  # none while not registered

    def statuses(self, state: ConsentState | None) -> Statuses:
        """Per declared purpose, the status of the record that decides for this app's brand."""
        app = self.apps.get(self.client_id)
        if state is None or app is None:
            return dict.fromkeys(self.purposes)
        records = {p: deciding_record(state, p, brand=app.brand) for p in self.purposes}
        return {p: str(r.status) if r else None for p, r in records.items()}

    async def on_change(self, change: ConsentUpdate) -> None:
        subject = str(change.subject_id)
        self.customers.pop(subject, None)
        if not change.erased:
            self.customers[subject] = None
        before, after = self.statuses(change.previous), self.statuses(change.current)
        if change.during_bootstrap or before == after:
            return  # nothing this app uses changed
        changed = [
            f"{p} {before[p] or '-'} → {after[p] or '-'}" for p in after if before[p] != after[p]
        ]
        what = "erased" if change.erased else ", ".join(changed)
        at = datetime.now(UTC)
        entry = {
            "at": at.isoformat(),
            "subject_id": subject,
            "version": change.version,
            "consents": after,
            "line": f"{at:%H:%M:%S.%f}"[:-3] + f" {subject} v{change.version}: {what}",
        }
        self.log.appendleft(entry)
        for queue in self.listeners:
            if queue.qsize() < 100:  # a stalled page misses lines rather than growing memory
                queue.put_nowait(entry)

    def end_streams(self) -> None:
        for queue in self.listeners:
            queue.put_nowait(None)

    def rows(self, limit: int = 100) -> list[tuple[str, Statuses]]:
        """Customers with a record for a declared purpose, the latest changed first."""
        rows = ((s, self.statuses(self.view.consents(s))) for s in reversed(self.customers))
        return list(islice(((s, c) for s, c in rows if any(c.values())), limit))


def create_app(board: ConsentBoard) -> Starlette:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await board.apps.start()  # first: the purposes the consents are read for
        await board.view.start()
        try:
            yield
        finally:
            await board.view.stop()
            await board.apps.stop()

    async def page(_: Request) -> HTMLResponse:
        app = board.apps.get(board.client_id)
        name = app.name if app else f"{board.client_id} (not registered at auth)"
        head = "".join(f'<th scope="col">{escape(p)}</th>' for p in board.purposes)
        rows = "".join(
            f'<tr id="{s}"><td>{s}</td>'
            + "".join(f"<td>{escape(v or '-')}</td>" for v in c.values())
            + "</tr>"
            for s, c in board.rows()
        )
        log = "".join(f"<li>{escape(e['line'])}</li>" for e in board.log)
        return HTMLResponse(PAGE.substitute(name=escape(name), head=head, rows=rows, log=log))

    async def consents(_: Request) -> JSONResponse:
        lag = board.view.lag()
        return JSONResponse(
            {
                "client_id": board.client_id,
                "purposes": board.purposes,
                "customers": dict(board.rows()),
                "log": list(board.log),
                "records_behind": lag.records_behind,
            }
        )

    async def events(_: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
            board.listeners.add(queue)
            try:
                yield ": connected\n\n"  # a listener from here on
                while (entry := await queue.get()) is not None:
                    yield f"data: {json.dumps(entry)}\n\n"
            finally:
                board.listeners.discard(queue)

        headers = {"cache-control": "no-store"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    routes = [Route("/", page), Route("/api/consents", consents), Route("/events", events)]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-id", required=True, help="this app's client id at auth")
    parser.add_argument("--subscriber", required=True, help="its name in acknowledgements")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument(
        "--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--topic-prefix", default=os.environ.get("KAFKA_TOPIC_PREFIX", ""))
    args = parser.parse_args()
    board = ConsentBoard(args.kafka, args.topic_prefix, args.client_id, args.subscriber)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            board.end_streams()  # an open event stream would hold up the stop forever
            await super().shutdown(sockets)

    Server(uvicorn.Config(create_app(board), host="127.0.0.1", port=args.port)).run()


if __name__ == "__main__":
    main()
