"""The local mail sink (ciam_devtools.devstack.mailsink): mails arrive over real SMTP (smtplib),
are kept as raw .eml files, and are shown decoded on the page and in the JSON listing."""

from __future__ import annotations

import asyncio
import base64
import re
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from ciam_devtools.devstack import free_port
from ciam_devtools.devstack.mailsink import MailSink, mail_env
from ciam_devtools.testing.mail import links, newest_mail_id, wait_for_mail

POLISH = "Zażółć gęślą jaźń"
LINK = "https://example.com/verify-email?token=Ab_9-x&ui_locales=pl"


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[MailSink]:
    async with MailSink(tmp_path / "mail", smtp_port=free_port(), web_port=free_port()) as sink:
        yield sink


async def send(sink: MailSink, message: EmailMessage | bytes, to: str = "ada@example.com") -> None:
    def blocking() -> None:
        with smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=10) as smtp:
            if isinstance(message, bytes):
                smtp.sendmail("no-reply@example.com", [to], message)
            else:
                smtp.send_message(message)

    await asyncio.to_thread(blocking)


def mail(subject: str, text: str, *, cte: str, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Sklep Łódź <no-reply@example.com>"
    message["To"] = "ada@example.com"
    message["Subject"] = subject
    message.set_content(text, cte=cte)
    if html is not None:
        message.add_alternative(html, subtype="html", cte=cte)
    return message


async def test_polish_mails_in_quoted_printable_and_base64_are_shown_decoded_with_links(
    sink: MailSink,
) -> None:
    text = f"Dzień dobry,\n\n{POLISH}: otwórz ten link:\n{LINK}.\n"
    await send(sink, mail(f"Potwierdź adres · {POLISH}", text, cte="quoted-printable"))
    await send(sink, mail(f"Zmiana hasła · {POLISH}", text, cte="base64"))
    # ISO-8859-2 in an RFC 2047 Q-encoded subject and a base64 body, as an older mailer sends.
    latin2 = (
        b"From: no-reply@example.com\r\nTo: ada@example.com\r\n"
        b"Subject: =?iso-8859-2?q?Za=BF=F3=B3=E6_g=EA=B6l=B1_ja=BC=F1?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-2\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(f"{POLISH}\n".encode("iso-8859-2")).replace(b"\n", b"\r\n")
    )
    await send(sink, latin2)

    raw = b"".join(path.read_bytes() for path in sink.store.directory.glob("*.eml"))
    assert POLISH.encode() not in raw  # on disk encoded: the page is what decodes
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    assert b"Content-Transfer-Encoding: base64" in raw

    latest = await wait_for_mail(sink.url, "ada@example.com", POLISH)
    assert latest["text"] == f"{POLISH}\n"
    password = await wait_for_mail(sink.url, "ada@example.com", "Zmiana hasła")
    confirm = await wait_for_mail(sink.url, "ADA@example.com", "Potwierdź adres")
    for caught in (password, confirm):
        assert caught["text"] == text
        assert caught["from"] == "Sklep Łódź <no-reply@example.com>"
        assert links(caught) == [LINK]

    async with httpx.AsyncClient() as client:
        page = (await client.get(sink.url)).text
    assert f"<h2>Potwierdź adres · {POLISH}</h2>" in page
    assert f"<h2>Zmiana hasła · {POLISH}</h2>" in page
    assert f"<h2>{POLISH}</h2>" in page
    href = LINK.replace("&", "&amp;")
    anchor = f'<a href="{href}" rel="noreferrer noopener" target="_blank">{href}</a>.'
    assert page.count(anchor) == 2  # the sentence's full stop stays outside the link


async def test_an_html_part_is_never_rendered_into_the_page(sink: MailSink) -> None:
    html = (
        '<p onclick="steal()">Cześć</p><script>alert("x")</script>'
        '<img src="https://tracker.example/pixel.gif"><a href="https://example.com/a">a</a>'
    )
    await send(sink, mail("HTML", "Cześć\n", cte="quoted-printable", html=html))
    caught = await wait_for_mail(sink.url, "ada@example.com", "HTML")
    assert caught["html"] == html + "\n"

    async with httpx.AsyncClient() as client:
        response = await client.get(sink.url)
    page = response.text
    for raw_markup in ("<script", "<img", "<p onclick", 'href="https://example.com/a"'):
        assert raw_markup not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    iframe = re.search(r"<iframe [^>]*>", page)
    assert iframe is not None
    sandbox = re.search(r'sandbox="([^"]*)"', iframe.group(0))
    assert sandbox is not None and "allow-scripts" not in sandbox.group(1)
    assert "allow-same-origin" not in sandbox.group(1)
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp


async def test_mails_are_listed_newest_first_and_kept_as_sortable_eml_files(
    sink: MailSink,
) -> None:
    assert await newest_mail_id(sink.url) is None
    for n in range(3):
        await send(sink, mail(f"mail {n}", f"body {n}\n", cte="quoted-printable"))
    first = await wait_for_mail(sink.url, "ada@example.com", "mail 0")
    newer = await wait_for_mail(sink.url, "ada@example.com", "mail", newer_than=first["id"])
    assert newer["subject"] == "mail 2"

    async with httpx.AsyncClient(base_url=sink.url) as client:
        listed = (await client.get("/api/messages")).json()["messages"]
        assert [m["subject"] for m in listed] == ["mail 2", "mail 1", "mail 0"]
        files = sorted(p.name for p in sink.store.directory.iterdir())
        assert files == sorted(f"{m['id']}.eml" for m in listed)
        # Names sort by arrival: the sorted file names are the listing reversed.
        assert files == [f"{m['id']}.eml" for m in reversed(listed)]
        page = (await client.get("/")).text
        assert page.index("mail 2") < page.index("mail 1") < page.index("mail 0")

        raw = await client.get(listed[0]["raw_url"])
        assert raw.status_code == 200
        assert raw.content == (sink.store.directory / files[-1]).read_bytes()
        assert raw.content.startswith(b"Return-Path: <no-reply@example.com>\r\n")
        for outside in ("/messages/..%2F..%2Fetc%2Fpasswd.eml", "/messages/x.eml"):
            assert (await client.get(outside)).status_code == 404


def test_the_runner_points_auth_and_the_notifier_at_the_sink_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in (
        "AUTH_SMTP_HOST",
        "AUTH_SMTP_PORT",
        "NOTIFIER_SMTP_HOST",
        "NOTIFIER_SMTP_PORT",
    ):
        monkeypatch.delenv(variable, raising=False)
    assert mail_env("auth", 8025) == {"AUTH_SMTP_HOST": "127.0.0.1", "AUTH_SMTP_PORT": "8025"}
    assert mail_env("notifier", 8025) == {
        "NOTIFIER_SMTP_HOST": "127.0.0.1",
        "NOTIFIER_SMTP_PORT": "8025",
    }
    assert mail_env("consent", 8025) == {}
    monkeypatch.setenv("NOTIFIER_SMTP_PORT", "2525")
    assert mail_env("notifier", 8025) == {}
