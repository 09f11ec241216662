"""The sink itself: an SMTP server (aiosmtpd) that keeps every mail it is given, and the mail
page, on one event loop. In-process for tests (`async with MailSink(...)`), a child process of
the runner (`python -m ciam_devtools.devstack.mailsink`, `start_mail_sink`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session

from ciam_devtools.devstack.mailsink.page import create_app
from ciam_devtools.devstack.mailsink.ports import DEFAULT_BASE_PORT, SMTP_OFFSET, WEB_OFFSET
from ciam_devtools.devstack.mailsink.store import MailStore
from ciam_devtools.devstack.process import ManagedProcess, port_in_use, require_free

log = logging.getLogger("ciam.mailsink")


class _Keep:
    """aiosmtpd handler: every mail is accepted and written to the store."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        mail_id = await asyncio.to_thread(
            self.store.save,
            content,
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
        )
        # The id only: a mail's subject or body may hold a sign-in link or a code.
        log.info("caught %s (%d recipient(s))", mail_id, len(envelope.rcpt_tos))
        return f"250 OK caught as {mail_id}"


class MailSink:
    def __init__(
        self, directory: Path, *, smtp_port: int, web_port: int, host: str = "127.0.0.1"
    ) -> None:
        self.store = MailStore(directory)
        self.host, self.smtp_port, self.web_port = host, smtp_port, web_port
        self.url = f"http://{host}:{web_port}"
        self._smtp: asyncio.Server | None = None
        self._web: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> MailSink:
        loop = asyncio.get_running_loop()
        handler = _Keep(self.store)
        # Bound here, not by uvicorn: a taken port is an OSError to the caller, not an exit.
        web_socket = socket.create_server((self.host, self.web_port))
        try:
            self._smtp = await loop.create_server(
                lambda: SMTP(handler, hostname="ciam-mailsink", enable_SMTPUTF8=True, loop=loop),
                self.host,
                self.smtp_port,
            )
        except OSError:
            web_socket.close()
            raise
        app = create_app(self.store, smtp=f"{self.host}:{self.smtp_port}")
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._web = uvicorn.Server(config)
        self._task = asyncio.create_task(self._web.serve(sockets=[web_socket]))
        while not self._web.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the mail page stopped while starting")
            await asyncio.sleep(0.02)
        return self

    async def wait_closed(self) -> None:
        """Until the page's server stops (SIGINT or SIGTERM in a process of its own)."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        if self._web is not None and self._task is not None:
            self._web.should_exit = True
            await self._task
        if self._smtp is not None:
            self._smtp.close()
            await self._smtp.wait_closed()
        self._smtp = self._web = self._task = None

    async def __aenter__(self) -> MailSink:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType
    ) -> None:
        await self.stop()


def _page_ready(url: str, smtp_port: int) -> bool:
    with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310 - loopback
        return bool(response.status == 200) and port_in_use(smtp_port)


def start_mail_sink(var: Path, smtp_port: int, web_port: int) -> tuple[ManagedProcess, str]:
    """The sink as a child process, mails in var/mail, log in var/logs/mail.log; returns it
    and the page's URL once both ports answer."""
    require_free(smtp_port, "the mail sink (SMTP)", "CIAM_MAIL_PORT")
    require_free(web_port, "the mail page", "CIAM_MAIL_WEB_PORT")
    argv: list[Any] = [sys.executable, "-m", "ciam_devtools.devstack.mailsink"]
    argv += ["--dir", var / "mail", "--smtp-port", smtp_port, "--web-port", web_port]
    log_path = var / "logs" / "mail.log"
    proc = ManagedProcess("mail", [str(a) for a in argv], log_path=log_path).start()
    url = f"http://127.0.0.1:{web_port}"
    proc.wait_until(lambda: _page_ready(url, smtp_port), timeout=30, what=f"{url}/readyz")
    return proc, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local SMTP sink and its mail page.")
    parser.add_argument("--dir", type=Path, default=Path("var/mail"), help="where .eml files go")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=DEFAULT_BASE_PORT + SMTP_OFFSET)
    parser.add_argument("--web-port", type=int, default=DEFAULT_BASE_PORT + WEB_OFFSET)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per connection

    async def serve() -> None:
        sink = MailSink(
            args.dir.resolve(), smtp_port=args.smtp_port, web_port=args.web_port, host=args.host
        )
        await sink.start()
        log.info("SMTP %s:%d, mail page %s, files in %s", args.host, args.smtp_port, sink.url,
                 sink.store.directory)  # fmt: skip
        try:
            await sink.wait_closed()  # uvicorn turns SIGINT/SIGTERM into a clean stop
        finally:
            await sink.stop()

    asyncio.run(serve())
    return 0
