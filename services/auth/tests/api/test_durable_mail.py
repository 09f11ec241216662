"""Mail is staged in the transaction it belongs to and sent by a loop that survives restarts,
SMTP outages and other replicas (real PostgreSQL, Redis, Kafka and aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ciam_auth.adapters.mail import Mail, SmtpServer
from ciam_auth.queues import repository as queues
from ciam_auth.queues.mailer import Mailer
from ciam_devtools.testing.plugin import eventually
from ciam_shared.db import create_engine, create_session_factory, unit_of_work, utcnow

from ..conftest import Instance, Mailbox, Stack


def mail_to(address: str, code: str = "123456") -> Mail:
    return Mail(to=address, subject="Your code", body=f"Your code: {code}\n")


async def stage(instance: Instance, *mails: Mail) -> None:
    async with unit_of_work(instance.ctx.db) as session:
        for mail in mails:
            instance.ctx.mailer.stage(session, mail)


async def test_a_mail_staged_before_a_stop_is_sent_after_the_restart(
    stack: Stack, mailbox: Mailbox
) -> None:
    async with stack.instance(mailbox.port, queue_workers_enabled=False) as stopped:
        await stage(stopped, mail_to("ada@example.com"))
    assert len(await stack.waiting_mail()) == 1 and mailbox.messages == []

    async with stack.instance(mailbox.port):
        message = await mailbox.wait_for("ada@example.com")
        await eventually(lambda: _none_waiting(stack))
    assert "Your code: 123456" in message.get_payload()
    assert message["Message-ID"]
    assert len(mailbox.to("ada@example.com")) == 1


async def test_smtp_down_then_up_delivers_the_mail_once(stack: Stack) -> None:
    box = Mailbox()  # its server starts only later: the first tries find nobody listening
    async with stack.instance(box.port) as instance:
        await stage(instance, mail_to("bob@example.com"))

        async def failed_twice() -> bool:
            rows = await stack.waiting_mail()
            return bool(rows) and rows[0].attempts >= 2

        await eventually(failed_twice)
        controller = Controller(box, hostname="127.0.0.1", port=box.port)
        controller.start()
        try:
            await box.wait_for("bob@example.com")
            await eventually(lambda: _none_waiting(stack))
        finally:
            controller.stop()
    assert len(box.to("bob@example.com")) == 1


async def test_a_rolled_back_transaction_sends_nothing(stack: Stack, mailbox: Mailbox) -> None:
    async with stack.instance(mailbox.port) as instance:
        with pytest.raises(RuntimeError):
            async with unit_of_work(instance.ctx.db) as session:
                instance.ctx.mailer.stage(session, mail_to("rolled-back@example.com"))
                await session.flush()  # the row was written, then rolled back
                raise RuntimeError("the use case failed")
        await stage(instance, mail_to("committed@example.com"))
        await mailbox.wait_for("committed@example.com")
        await eventually(lambda: _none_waiting(stack))
    assert mailbox.to("rolled-back@example.com") == []
    assert [m["To"] for m in mailbox.messages] == ["committed@example.com"]


async def test_concurrent_claims_never_take_the_same_row(stack: Stack, mailbox: Mailbox) -> None:
    async with stack.instance(mailbox.port, queue_workers_enabled=False) as stopped:
        await stage(stopped, *(mail_to(f"c{i}@example.com") for i in range(6)))
    sessions = create_session_factory(stack.engine)
    now = utcnow()
    async with sessions() as first, first.begin(), sessions() as second, second.begin():
        held = await queues.claim_mail(first, now, now, limit=4)  # locks held: not committed
        other = await queues.claim_mail(second, now, now, limit=10)
        assert len(held) == 4 and len(other) == 2
        assert {r.id for r in held}.isdisjoint({r.id for r in other})


async def test_two_senders_never_send_the_same_mail_twice(stack: Stack, mailbox: Mailbox) -> None:
    addresses = [f"r{i}@example.com" for i in range(60)]
    async with stack.instance(mailbox.port, queue_workers_enabled=False) as stopped:
        await stage(stopped, *(mail_to(a) for a in addresses))
    # Two replicas: each its own engine (own connections), both draining at once.
    engines = [create_engine(stack.url) for _ in range(2)]
    server = SmtpServer("127.0.0.1", mailbox.port, "no-reply@example.com")
    senders = [Mailer(create_session_factory(engine), server) for engine in engines]

    async def drain(sender: Mailer) -> None:
        while await sender.send_due():
            pass

    try:
        await asyncio.gather(*(drain(sender) for sender in senders))
    finally:
        for engine in engines:
            await engine.dispose()
    assert await stack.mail_count() == 0
    assert Counter(m["To"] for m in mailbox.messages) == Counter(addresses)
    ids = [m["Message-ID"] for m in mailbox.messages]
    assert len(set(ids)) == len(ids) == 60


async def test_a_refused_mail_is_given_up_with_a_log_line_without_the_address(
    stack: Stack,
) -> None:
    refusing, lines = Refusing(), Lines()
    controller = Controller(refusing, hostname="127.0.0.1", port=refusing.port)
    controller.start()
    logger = logging.getLogger("ciam_auth.queues.mailer")
    logger.addHandler(lines)
    try:
        async with stack.instance(refusing.port) as instance:
            await stage(instance, mail_to("refused@example.com"))
            await eventually(lambda: _none_waiting(stack))
    finally:
        logger.removeHandler(lines)
        controller.stop()
    assert refusing.tries == 1  # a permanent (5xx) refusal is not tried again
    given_up = [line for line in lines.lines if "given up" in line]
    assert given_up and all("refused@example.com" not in line for line in lines.lines)


async def test_without_a_mail_server_mails_are_written_as_files(
    stack: Stack, tmp_path: Path
) -> None:
    directory = tmp_path / "mail"
    async with stack.instance(1, mail_dir=str(directory)) as instance:
        await stage(instance, Mail(to="ada@example.com", subject="Potwierdź", body="kod: 1\n"))
        await eventually(lambda: _none_waiting(stack))
    (written,) = directory.glob("*.eml")
    message = email.message_from_bytes(written.read_bytes())
    assert message["To"] == "ada@example.com" and message["Message-ID"]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class Refusing(Mailbox):
    tries = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.tries += 1
        return "550 mailbox unavailable"


async def _none_waiting(stack: Stack) -> bool:
    return await stack.mail_count() == 0
