"""Two auth processes on one database and one Redis: a session made by one is honoured and
ended by the other, and login throttling counts the failures both saw (sessions and
throttle counters live in Redis, not in a process)."""

from __future__ import annotations

import asyncio
import email
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.plugin import ServiceProcess, eventually

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"
FREE_FAILURES = 3


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def token_for(self, address: str) -> str | None:
        for message in self.messages:
            if message["To"] == address:
                body = message.get_payload(decode=True)
                assert isinstance(body, bytes)
                if found := re.search(r"token=([A-Za-z0-9_-]+)", body.decode()):
                    return found.group(1)
        return None


@pytest.fixture
async def replicas(
    fresh_database: Callable[..., Awaitable[str]],
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    tmp_path: Path,
) -> AsyncIterator[tuple[list[ServiceProcess], Mailbox]]:
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        "AUTH_DATABASE_URL": await fresh_database("ciam_auth.migrations"),
        "AUTH_MIGRATE_ON_START": "false",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "CIAM_ENVIRONMENT": "test",
        "AUTH_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),  # the same for both
        "AUTH_PUBLIC_URL": "http://auth.test",
        "AUTH_SMTP_HOST": "127.0.0.1",
        "AUTH_SMTP_PORT": str(smtp.port),
        "AUTH_QUEUE_POLL_SECONDS": "0.2",
        # A few free failures per (account, address), then an hour's wait.
        "AUTH_THROTTLE_PAIR_FREE": str(FREE_FAILURES),
        "AUTH_THROTTLE_BASE_DELAY": "3600",
        "AUTH_THROTTLE_PAIR_MAX_DELAY": "3600",
    }
    processes = [ServiceProcess("auth", env, tmp_path) for _ in range(2)]
    try:
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes))
        yield processes, mailbox
    finally:
        for process in processes:
            process.stop()
        smtp.stop()


def session_cookie(response: httpx.Response) -> str:
    """The session cookie's value (Secure outside development: httpx would not send it back
    over http, so the test sends it itself)."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("ciam_session="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no session cookie in {response.headers}")


async def test_sessions_and_login_throttling_are_shared_by_two_auth_processes(
    replicas: tuple[list[ServiceProcess], Mailbox],
) -> None:
    (one, two), mailbox = replicas
    address = "replicas@example.com"
    async with httpx.AsyncClient(timeout=30) as http:
        # Registered at one, verified at the other (the mail is sent by either's queue).
        registered = await http.post(
            f"{one.url}/v1/accounts", json={"email": address, "password": PASSWORD}
        )
        assert registered.status_code == 202, registered.text
        token = await eventually(lambda: _token(mailbox, address), timeout=30)
        verified = await http.post(f"{two.url}/v1/email-verifications", json={"token": token})
        assert verified.status_code == 200, verified.text

        # A session made at one is the same session at the other, and ends everywhere.
        signed_in = await http.post(
            f"{one.url}/v1/sessions", json={"email": address, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        cookie = {"cookie": f"ciam_session={session_cookie(signed_in)}"}
        me = await http.get(f"{two.url}/v1/me", headers=cookie)
        assert me.status_code == 200, me.text
        ended = await http.delete(f"{two.url}/v1/sessions/current", headers=cookie)
        assert ended.status_code == 204, ended.text
        assert (await http.get(f"{one.url}/v1/me", headers=cookie)).status_code == 401

        # Wrong passwords alternating between the processes: each saw only half of them,
        # yet the next attempt waits at both.
        wrong = {"email": address, "password": "not the password at all"}
        for n in range(FREE_FAILURES):
            refused = await http.post(f"{(one, two)[n % 2].url}/v1/sessions", json=wrong)
            assert refused.status_code == 401, refused.text
        for replica in (one, two):
            right = {"email": address, "password": PASSWORD}
            throttled = await http.post(f"{replica.url}/v1/sessions", json=right)
            assert throttled.status_code == 429, throttled.text


async def _token(mailbox: Mailbox, address: str) -> str | None:
    return mailbox.token_for(address)
