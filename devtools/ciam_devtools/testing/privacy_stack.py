"""The customer's side of the system for browser tests and the privacy-click benchmark: auth
(pages, sign-in, mail) and consent, each served by uvicorn on a loopback port of the caller's
event loop, a mail sink catching auth's mails, and brand apps as `ConsentView` subscribers in
processes of their own (tests/support/subscriber.py), all on the real Kafka, PostgreSQL and
Redis.

    async with privacy_stack(databases, kafka=..., redis=..., prefix=..., workdir=...) as s:
        app = await s.subscriber("shop-app")     # bootstrapped: "ready" was printed
        ...                                      # a browser at s.auth_url
        line = await app.change_of(subject, version)
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.plugin import DatabaseFactory, settings_kwargs
from ciam_devtools.testing.servers import LoopbackServer

ROOT = Path(__file__).resolve().parents[3]
SUBSCRIBER = ROOT / "tests" / "support" / "subscriber.py"


@dataclass
class Subscriber:
    """A brand app's ConsentView in another process; `changes` are the lines it printed, each
    with `arrived` (time.perf_counter() in this process when the line was read)."""

    name: str
    process: asyncio.subprocess.Process
    changes: list[dict[str, Any]] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    def start_reading(self) -> None:
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while raw := await self.process.stdout.readline():
            line = json.loads(raw)
            line["arrived"] = time.perf_counter()
            self.changes.append(line)
            self._new.set()

    async def change_of(self, subject: str, version: int, timeout: float = 30) -> dict[str, Any]:
        """The line for this subject's change `version`, once it arrives (or TimeoutError)."""
        async with asyncio.timeout(timeout):
            while True:
                for line in self.changes:
                    if line["subject"] == subject and line["version"] == version:
                        return line
                self._new.clear()
                await self._new.wait()

    def versions_of(self, subject: str) -> list[int]:
        return [int(line["version"]) for line in self.changes if line["subject"] == subject]

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        if self._reader is not None:
            await self._reader


@dataclass
class PrivacyStack:
    auth_url: str
    consent_url: str
    mail_url: str
    kafka: str
    prefix: str
    subscribers: list[Subscriber] = field(default_factory=list)

    async def subscriber(self, name: str) -> Subscriber:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SUBSCRIBER),
            self.kafka,
            self.prefix,
            name,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if line.strip() != b"ready":
            process.kill()
            raise RuntimeError(f"subscriber {name} did not start: {line!r}")
        app = Subscriber(name, process)
        app.start_reading()
        self.subscribers.append(app)
        return app


@asynccontextmanager
async def privacy_stack(
    databases: DatabaseFactory, *, kafka: str, redis: str, prefix: str, workdir: Path
) -> AsyncIterator[PrivacyStack]:
    from joserfc.jwk import ECKey

    from ciam_auth.main import create_app as create_auth
    from ciam_auth.settings import AuthSettings
    from ciam_consent.main import create_app as create_consent
    from ciam_consent.settings import ConsentSettings
    from ciam_devtools.devstack.mailsink import MailSink

    auth_port, consent_port = free_port(), free_port()
    auth_url, consent_url = f"http://127.0.0.1:{auth_port}", f"http://127.0.0.1:{consent_port}"
    async with AsyncExitStack() as stack:
        sink = await MailSink(workdir / "mail", smtp_port=free_port(), web_port=free_port()).start()
        stack.push_async_callback(sink.stop)
        auth_settings = AuthSettings(
            issuer=auth_url,
            key_encryption_secret=secrets.token_urlsafe(32),
            consent_url=consent_url,
            smtp_port=sink.smtp_port,
            mail_dir="",
            **settings_kwargs(
                await databases.create("ciam_auth.migrations"),
                kafka=kafka,
                redis=redis,
                topic_prefix=prefix,
            ),
        )
        consent_settings = ConsentSettings(
            **settings_kwargs(
                await databases.create("ciam_consent.migrations"),
                kafka=kafka,
                redis=redis,
                topic_prefix=prefix,
            ),
            token_issuer=auth_url,
            token_jwks_url=f"{auth_url}/.well-known/jwks.json",
            receipt_signing_key=ECKey.generate_key("P-256").as_pem(private=True).decode(),
        )
        auth = LoopbackServer(lambda: create_auth(auth_settings), auth_port)
        consent = LoopbackServer(lambda: create_consent(consent_settings), consent_port)
        await auth.start()
        stack.push_async_callback(auth.stop)
        await consent.start()
        stack.push_async_callback(consent.stop)
        privacy = PrivacyStack(auth_url, consent_url, sink.url, kafka, prefix)
        try:
            yield privacy
        finally:
            for app in privacy.subscribers:
                await app.stop()
