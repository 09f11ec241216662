"""The mails a test's system sent, read from the mail sink's JSON listing
(ciam_devtools.devstack.mailsink: the runner's, or one the test starts with `MailSink`).

    mark = await newest_mail_id(sink)              # before the action, to skip older mails
    mail = await wait_for_mail(sink, "ada@example.com", "Potwierdź", newer_than=mark)
    link = links(mail)[0]

A mail is the listing's JSON: id, received_at, subject, from, to, envelope_to, date, text,
html, attachments, raw_url.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from ciam_devtools.testing.plugin import eventually

_URL = re.compile(r"https?://[^\s<>\"']+")
# The listing's most: the newest mail to an address is among these on any test's sink.
_LISTED = 500


async def mails(sink_url: str) -> list[dict[str, Any]]:
    """Every caught mail (up to 500), newest first."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{sink_url}/api/messages", params={"limit": _LISTED})
        response.raise_for_status()
        return list(response.json()["messages"])


async def newest_mail_id(sink_url: str) -> str | None:
    """The id of the newest mail so far (ids sort by arrival), for `newer_than`."""
    found = await mails(sink_url)
    return str(found[0]["id"]) if found else None


def _to(mail: dict[str, Any], address: str) -> bool:
    wanted = address.casefold()
    return any(a.casefold() == wanted for a in [*mail["to"], *mail["envelope_to"]])


async def wait_for_mail(
    sink_url: str,
    to: str,
    subject_contains: str = "",
    timeout: float = 20.0,
    *,
    newer_than: str | None = None,
) -> dict[str, Any]:
    """The newest mail to `to` whose subject contains `subject_contains` (and which arrived
    after the mail `newer_than`, when given), polled until `timeout` seconds have passed."""

    async def newest() -> dict[str, Any] | None:
        for mail in await mails(sink_url):  # newest first
            if newer_than is not None and mail["id"] <= newer_than:
                return None
            if _to(mail, to) and subject_contains in mail["subject"]:
                return mail
        return None

    try:
        found: dict[str, Any] = await eventually(newest, timeout=timeout, interval=0.1)
    except AssertionError:
        seen = [(m["envelope_to"], m["subject"]) for m in (await mails(sink_url))[:10]]
        raise AssertionError(
            f"no mail to {to} with {subject_contains!r} in its subject within {timeout}s "
            f"(newer than {newer_than}); the newest caught (recipients, subject): {seen}"
        ) from None
    return found


def links(mail: dict[str, Any]) -> list[str]:
    """The http(s) links of the mail's text part, in order (trailing punctuation dropped)."""
    return [m.rstrip(".,;:!?)]}'") for m in _URL.findall(mail.get("text") or "")]
