"""Account enumeration by timing: median answer times of login, registration and reset for
known and unknown addresses, on real PostgreSQL, Redis and Kafka with a real SMTP server.

    .venv/bin/python bench/auth_enumeration.py [--tries 200]

Writes bench/results/auth_enumeration.json. The requests go in-process (ASGI), known and
unknown in random order with a pause between (so the previous request's background job does
not weigh on the next); throttling is set out of the way.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).parent))

from common import run, write_result

from ciam_auth.main import create_app
from ciam_auth.settings import AuthSettings
from ciam_devtools.devstack import free_port
from ciam_devtools.testing.plugin import (
    DatabaseFactory,
    eventually,
    running,
    settings_kwargs,
)

PASSWORD = "correct horse battery staple"  # noqa: S105 (a test account)
KNOWN = 20


class Mailbox:
    def __init__(self) -> None:
        self.bodies: dict[str, str] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            self.bodies[rcpt] = envelope.content.decode(errors="replace")
        return "250 OK"


async def timed(client: httpx.AsyncClient, path: str, body: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    response = await client.post(path, json=body)
    return (time.perf_counter() - start) * 1000, response.status_code


async def main(args: argparse.Namespace, kafka: str, redis: str, postgres: str) -> dict[str, Any]:
    factory = DatabaseFactory(postgres)
    url = await factory.create("ciam_auth.migrations")
    box, port = Mailbox(), free_port()
    smtp = Controller(box, hostname="127.0.0.1", port=port)
    smtp.start()
    settings = AuthSettings(
        **settings_kwargs(url, kafka=kafka, redis=redis, topic_prefix=f"b{uuid.uuid4().hex[:8]}."),
        smtp_port=port,
        key_encryption_secret=secrets.token_urlsafe(32),
        throttle_pair_free=10**6,
        throttle_account_free=10**6,
        throttle_client_limit=10**9,
        throttle_requests_per_client=10**9,
    )
    try:
        async with running(create_app(settings)) as client:
            known = [f"known{i}@example.com" for i in range(KNOWN)]
            for address in known:
                await client.post("/v1/accounts", json={"email": address, "password": PASSWORD})
            await eventually(lambda: _all_mailed(box, known), timeout=60)
            for address in known:
                token = re.search(r"token=([A-Za-z0-9_-]+)", box.bodies[address]).group(1)  # type: ignore[union-attr]
                await client.post("/v1/email-verifications", json={"token": token})
            times: dict[str, list[float]] = {}
            for i in range(args.tries):
                k, u = known[i % KNOWN], f"unknown{i}@example.com"
                cases = {
                    "login": (
                        "/v1/sessions",
                        {"email": k, "password": "wrong guess here"},
                        {"email": u, "password": "wrong guess here"},
                    ),
                    "registration": (
                        "/v1/accounts",
                        {"email": k, "password": PASSWORD},
                        {"email": f"new{i}@example.com", "password": PASSWORD},
                    ),
                    "reset": ("/v1/password-resets", {"email": k}, {"email": u}),
                }
                for name, (path, known_body, unknown_body) in cases.items():
                    pair = [("known", known_body), ("unknown", unknown_body)]
                    random.shuffle(pair)  # neither side always runs first
                    for label, body in pair:
                        # Let the previous request's job and mail finish: they run after the
                        # answer and would otherwise slow whichever request comes next.
                        await asyncio.sleep(args.pause)
                        ms, _ = await timed(client, path, body)
                        times.setdefault(f"{name}_{label}", []).append(ms)
    finally:
        smtp.stop()
        await factory.drop(url)
    result: dict[str, Any] = {"tries": args.tries, "pause_s": args.pause}
    for name in ("login", "registration", "reset"):
        known_ms = statistics.median(times[f"{name}_known"])
        unknown_ms = statistics.median(times[f"{name}_unknown"])
        result[name] = {
            "known_median_ms": round(known_ms, 2),
            "unknown_median_ms": round(unknown_ms, 2),
            "difference_ms": round(known_ms - unknown_ms, 2),
        }
    write_result("auth_enumeration", result)
    return result


async def _all_mailed(box: Mailbox, addresses: list[str]) -> bool:
    return all(a in box.bodies for a in addresses)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tries", type=int, default=200)
    parser.add_argument(
        "--pause", type=float, default=0.03, help="seconds between requests (background work)"
    )
    run(main, parser.parse_args())
