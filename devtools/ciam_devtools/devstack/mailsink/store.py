"""The caught mails: one raw `.eml` file each, named so that names sort by arrival, and the
decoded view of one (headers after RFC 2047, parts after their transfer encoding and charset)."""

from __future__ import annotations

import os
import re
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

# 20261202T171905.123456Z-1a2b3c4d: the arrival time (UTC, microseconds) and a short random id.
ID = re.compile(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}")
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_PARSER = BytesParser(policy=policy.default)


@dataclass(frozen=True)
class CaughtMail:
    id: str
    received_at: str
    subject: str
    sender: str
    to: list[str]
    # The recipients of the SMTP envelope (a Bcc is only here).
    envelope_to: list[str]
    date: str
    text: str | None
    html: str | None
    attachments: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("sender")
        data["raw_url"] = f"/messages/{self.id}.eml"
        return data


class MailStore:
    """Writes and reads var/mail. Writes are atomic (a temporary name, then a rename), so a
    reader never sees half a mail; ids grow strictly within one process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)

    def save(self, content: bytes, *, mail_from: str, rcpt_tos: list[str]) -> str:
        with self._lock:
            now = max(datetime.now(UTC), self._last + timedelta(microseconds=1))
            self._last = now
        mail_id = f"{now.strftime(_STAMP)}-{secrets.token_hex(4)}"
        # The envelope, as a delivering server records it (RFC 5321 4.4: Return-Path).
        envelope = f"Return-Path: <{mail_from}>\r\nX-RcptTo: {', '.join(rcpt_tos)}\r\n"
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{mail_id}.tmp"
        partial.write_bytes(envelope.encode("utf-8") + content)
        os.replace(partial, self.directory / f"{mail_id}.eml")
        return mail_id

    def ids(self, limit: int | None = None) -> list[str]:
        """Newest first."""
        try:
            names = [p.stem for p in self.directory.iterdir() if p.suffix == ".eml"]
        except FileNotFoundError:
            return []
        found = sorted((n for n in names if ID.fullmatch(n)), reverse=True)
        return found if limit is None else found[:limit]

    def raw(self, mail_id: str) -> bytes | None:
        if not ID.fullmatch(mail_id):  # a name, never a path
            return None
        try:
            return (self.directory / f"{mail_id}.eml").read_bytes()
        except FileNotFoundError:
            return None

    def get(self, mail_id: str) -> CaughtMail | None:
        raw = self.raw(mail_id)
        return None if raw is None else decode(mail_id, raw)

    def latest(self, limit: int) -> list[CaughtMail]:
        mails = (self.get(mail_id) for mail_id in self.ids(limit))
        return [mail for mail in mails if mail is not None]


def decode(mail_id: str, raw: bytes) -> CaughtMail:
    message = _PARSER.parsebytes(raw)
    assert isinstance(message, EmailMessage)  # policy.default builds EmailMessage
    received = datetime.strptime(mail_id.partition("-")[0], _STAMP).replace(tzinfo=UTC)
    return CaughtMail(
        id=mail_id,
        received_at=received.isoformat(),
        subject=_header(message, "Subject"),
        sender=_header(message, "From"),
        to=_addresses(message, "To", "Cc"),
        envelope_to=[a.strip() for a in _header(message, "X-RcptTo").split(",") if a.strip()],
        date=_header(message, "Date"),
        text=_body(message, "plain"),
        html=_body(message, "html"),
        attachments=[p.get_filename() or p.get_content_type() for p in _attachments(message)],
    )


def _utf8(value: str) -> str:
    # Raw UTF-8 in a header (SMTPUTF8, RFC 6532) arrives as surrogate escapes of its bytes.
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _header(message: EmailMessage, name: str) -> str:
    value = message.get(name)
    return "" if value is None else _utf8(str(value))


def _addresses(message: EmailMessage, *names: str) -> list[str]:
    values = [_utf8(str(v)) for name in names for v in message.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if not isinstance(part, EmailMessage) or part.get_content_subtype() != subtype:
        return None
    try:
        content = str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset or a broken encoding: show what is
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return None
        content = payload.decode("utf-8", "replace")
    return content.replace("\r\n", "\n")


def _attachments(message: EmailMessage) -> list[EmailMessage]:
    if not message.is_multipart():
        return []
    return [p for p in message.iter_attachments() if isinstance(p, EmailMessage)]
