"""A small SMTP client (RFC 5321) that lets its caller commit right before the final dot.

Why not smtplib: an SMTP server takes responsibility for a message when it reads the final
`.` of DATA, and discards a transaction whose connection closes before it. smtplib sends the
body and the dot in one call, so the caller cannot record "handed over" in between. Here the
body goes out first, then `commit_point()` runs (the caller commits to its database), then
the dot is written with no await in between, so nothing else runs in this process between the
commit and the dot reaching the kernel.

Outcomes: returns on 2xx after the dot; `SmtpRefused` when the message certainly did not leave
(any failure before the dot, or a 4xx/5xx reply to it); `SmtpInDoubt` when the dot was written
and no reply came (the server may hold the message); `Fenced` when `commit_point` said no.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class SmtpRefused(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmtpInDoubt(Exception):
    pass


class Fenced(Exception):
    """The caller's claim on the message was taken over: nothing was handed to the server."""


CommitPoint = Callable[[], Awaitable[bool]]


def dot_stuffed(data: bytes) -> bytes:
    """CRLF line ends, a leading dot doubled (RFC 5321 4.5.2), ending in CRLF; no final dot."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)


class _Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float):
        self.reader, self.writer, self.timeout = reader, writer, timeout

    async def reply(self) -> tuple[int, str]:
        text: list[str] = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), self.timeout)
            if not line:
                raise ConnectionResetError("the SMTP server closed the connection")
            decoded = line.decode("utf-8", "replace").rstrip("\r\n")
            text.append(decoded[4:])
            if len(decoded) < 4 or decoded[3] != "-":
                return int(decoded[:3]), " ".join(text)

    async def command(self, line: str, expect: tuple[int, ...]) -> None:
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()
        code, text = await self.reply()
        if code not in expect:
            raise SmtpRefused(f"{line.split()[0]}: {code} {text}"[:300], permanent=code >= 500)


async def send(
    host: str,
    port: int,
    *,
    sender: str,
    recipient: str,
    data: bytes,
    commit_point: CommitPoint,
    timeout: float,
) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        raise SmtpRefused(f"connect: {type(exc).__name__}: {exc}"[:300]) from exc
    # High-water mark 0: drain() returns only once every byte is in the kernel, so a crash
    # after the body leaves no part of it (or of the dot) in this process's buffer.
    writer.transport.set_write_buffer_limits(high=0)
    session = _Session(reader, writer, timeout)
    try:
        try:
            code, text = await session.reply()
            if code != 220:
                raise SmtpRefused(f"greeting: {code} {text}"[:300])
            await session.command("EHLO ciam.local", (250,))
            await session.command(f"MAIL FROM:<{sender}>", (250,))
            await session.command(f"RCPT TO:<{recipient}>", (250, 251))
            await session.command("DATA", (354,))
            writer.write(dot_stuffed(data))
            await writer.drain()
        except (OSError, TimeoutError, ValueError) as exc:
            raise SmtpRefused(f"{type(exc).__name__}: {exc}"[:300]) from exc
        if not await commit_point():
            raise Fenced
        # No await between the commit above and this write: see the module docstring.
        writer.write(b".\r\n")
        try:
            code, text = await session.reply()
        except (OSError, TimeoutError, ValueError) as exc:
            raise SmtpInDoubt(f"no reply to the final dot: {type(exc).__name__}") from exc
        if not 200 <= code < 300:
            raise SmtpRefused(f"end of data: {code} {text}"[:300], permanent=code >= 500)
        try:
            writer.write(b"QUIT\r\n")
            await writer.drain()
        except OSError:
            pass  # the message is accepted; a failed goodbye changes nothing
    finally:
        writer.close()
