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
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from html import escape
from itertools import islice
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route

from ciam_consent_sdk import BrandAppView, ConsentState, ConsentUpdate, ConsentView, deciding_record

Statuses = dict[str, str | None]  # purpose -> status of the record that decides, None: none


class BrandApp:
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
        self.listeners: set[asyncio.Queue[dict[str, Any]]] = set()

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
        what = ", ".join(
            f"{p} {before[p] or '-'} → {after[p] or '-'}" for p in after if before[p] != after[p]
        )
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
            if not queue.full():  # a stalled page misses lines rather than growing memory
                queue.put_nowait(entry)

    def rows(self, limit: int = 100) -> list[tuple[str, Statuses]]:
        """Customers with a record for a declared purpose, the latest changed first."""
        rows = ((s, self.statuses(self.view.consents(s))) for s in reversed(self.customers))
        return list(islice(((s, c) for s, c in rows if any(c.values())), limit))


def create_app(brand_app: BrandApp) -> Starlette:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await brand_app.apps.start()  # first: the purposes the consents are read for
        await brand_app.view.start()
        try:
            yield
        finally:
            await brand_app.view.stop()
            await brand_app.apps.stop()

    async def page(_: Request) -> HTMLResponse:
        app = brand_app.apps.get(brand_app.client_id)
        name = app.name if app else f"{brand_app.client_id} (not registered at auth)"
        head = "".join(f"<th scope=col>{escape(p)}</th>" for p in brand_app.purposes)
        rows = "".join(
            f"<tr id={s}><td>{s}</td>" + "".join(f"<td>{escape(v or '-')}</td>" for v in c.values())
            for s, c in brand_app.rows()
        )
        log = "".join(f"<li>{escape(e['line'])}</li>" for e in brand_app.log)
        return HTMLResponse(PAGE.format(name=escape(name), head=head, rows=rows, log=log))

    async def consents(_: Request) -> JSONResponse:
        lag = brand_app.view.lag()
        return JSONResponse(
            {
                "client_id": brand_app.client_id,
                "purposes": brand_app.purposes,
                "customers": dict(brand_app.rows()),
                "log": list(brand_app.log),
                "records_behind": lag.records_behind,
            }
        )

    async def events(_: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
            brand_app.listeners.add(queue)
            try:
                yield ": connected\n\n"  # a listener from here on
                while True:
                    yield f"data: {json.dumps(await queue.get())}\n\n"
            finally:
                brand_app.listeners.discard(queue)

        headers = {"cache-control": "no-store"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    routes = [Route("/", page), Route("/api/consents", consents), Route("/events", events)]
    return Starlette(routes=routes, lifespan=lifespan)


# Without JavaScript the page shows the table and the log as they were when it loaded; the
# script adds each change as it arrives and moves the customer's row to the top.
PAGE = """<!doctype html>
<html lang=en><meta charset=utf-8><meta name=viewport content="width=device-width">
<title>{name}</title>
<style>body{{font:16px system-ui;margin:2rem}} td,th{{padding:.2rem .6rem;text-align:left}}
tbody tr:nth-child(odd){{background:#f3f3f3}} #log{{font-family:monospace}}</style>
<h1>{name}</h1>
<h2>Customers' consents</h2>
<table><thead><tr><th scope=col>customer</th>{head}</tr></thead><tbody>{rows}</tbody></table>
<h2>Changes</h2><ol id=log reversed>{log}</ol>
<script>
new EventSource("events").onmessage = (message) => {{
  const change = JSON.parse(message.data);
  const line = document.createElement("li");
  line.textContent = change.line;
  document.getElementById("log").prepend(line);
  document.getElementById(change.subject_id)?.remove();
  if (Object.values(change.consents).some((status) => status)) {{
    const row = document.querySelector("tbody").insertRow(0);
    row.id = change.subject_id;
    for (const text of [change.subject_id, ...Object.values(change.consents)])
      row.insertCell().textContent = text || "-";
  }}
}};
</script>
"""


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
    brand_app = BrandApp(args.kafka, args.topic_prefix, args.client_id, args.subscriber)
    # An open event stream never ends by itself: give it a second when asked to stop.
    uvicorn.run(
        create_app(brand_app), host="127.0.0.1", port=args.port, timeout_graceful_shutdown=1
    )


if __name__ == "__main__":
    main()
