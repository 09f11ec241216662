"""The webhook address guard and the pinned client: only globally routable unicast addresses
(embedded IPv4 decoded), and the connection goes to the address checked, never to a second
lookup's answer; the Host header and the TLS name stay the host's."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ciam_devtools.devstack import free_port
from ciam_devtools.testing.plugin import eventually
from ciam_notifier.errors import UnsafeWebhookUrl
from ciam_notifier.ssrf import IPAddress, Target, WebhookGuard, embedded_ipv4, networks
from ciam_notifier.webhook_http import BODY_LIMIT, WebhookClient, WebhookFailed

# The reproducers of issue 12, and their relatives.
REFUSED = [
    "http://[::127.0.0.1]/",  # IPv4-compatible (deprecated) loopback
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the metadata address 169.254.169.254
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://224.0.0.1/",  # multicast
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
    "http://[::ffff:a9fe:a9fe]/",  # IPv4-mapped metadata address
    "http://[64:ff9b:1:7f00:0:100::]/",  # local-use NAT64 (RFC 8215)
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    "http://[ff02::1]/",  # IPv6 multicast
    "http://[fd00::1]/",  # unique local
    "http://[fe80::1]/",  # link-local
    "http://[::]/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://192.0.2.1/",  # documentation
    "http://[2001:db8::1]/",  # documentation
    "http://198.18.0.1/",  # benchmarking
]
PUBLIC = [
    "https://93.184.215.14/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://[64:ff9b::5db8:d70e]/hook",  # NAT64 of a public address
    "https://[2002:5db8:d70e::1]/hook",  # 6to4 of a public address
    "https://[::ffff:93.184.215.14]/hook",
    "https://[2001:0:4136:e378:8000:63bf:a247:28f1]/hook",  # Teredo, both ends public
]
# Loopback and the metadata network allowlisted, as a careless operator might: the embedded
# forms still do not pass (only the IPv4-mapped form is the IPv4 destination itself).
LOOSE = tuple(networks(["127.0.0.0/8", "169.254.0.0/16"]))


@pytest.mark.parametrize("url", REFUSED)
async def test_special_and_embedded_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        await WebhookGuard().check(url)


@pytest.mark.parametrize("url", [u for u in REFUSED if "::ffff:" not in u])
async def test_an_allowlisted_ipv4_network_does_not_admit_its_embedded_forms(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        await WebhookGuard(LOOSE).check(url)


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_unicast_addresses_pass(url: str) -> None:
    target = await WebhookGuard().check(url)
    assert len(target.addresses) == 1


def test_embedded_ipv4_is_decoded_in_every_form() -> None:
    def decoded(text: str) -> list[str]:
        return [str(a) for a in embedded_ipv4(ipaddress.IPv6Address(text))]

    assert decoded("::127.0.0.1") == ["127.0.0.1"]
    assert decoded("::ffff:10.0.0.1") == ["10.0.0.1"]
    assert decoded("64:ff9b::a9fe:a9fe") == ["169.254.169.254"]
    assert decoded("64:ff9b:1:7f00:0:100::") == ["127.0.0.1"]
    assert decoded("2002:7f00:1::") == ["127.0.0.1"]
    assert decoded("2001:0:4136:e378:8000:63bf:80ff:fffe") == ["65.54.227.120", "127.0.0.1"]
    assert decoded("2606:4700:4700::1111") == []


async def test_a_message_names_what_an_embedded_address_leads_to() -> None:
    with pytest.raises(UnsafeWebhookUrl) as refused:
        await WebhookGuard().check("http://[64:ff9b::a9fe:a9fe]/")
    assert "169.254.169.254" in refused.value.detail


class Dns:
    """A resolver that answers from a table the test changes, counting the lookups."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        if host not in self.answers:
            raise OSError("no such host")
        return [ipaddress.ip_address(a) for a in self.answers[host]]


async def test_a_name_is_refused_when_any_of_its_addresses_is_not_public() -> None:
    dns = Dns({"hook.example": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(UnsafeWebhookUrl):
        await WebhookGuard(resolver=dns).check("https://hook.example/x")
    with pytest.raises(UnsafeWebhookUrl):
        await WebhookGuard(resolver=dns).check("https://unknown.example/x")


async def test_a_name_is_connected_by_the_address_checked_never_by_a_second_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A rebinding DNS: public at the check, the metadata address at any later lookup.
    class Rebinding(Dns):
        async def __call__(self, host: str, port: int) -> list[IPAddress]:
            answer = await super().__call__(host, port)
            self.answers[host] = ["169.254.169.254"]
            return answer

    dns = Rebinding({"hook.example": ["93.184.215.14", "2606:4700:4700::1111"]})
    target = await WebhookGuard(resolver=dns).check("https://hook.example:8443/x")
    # The event loop's connect stands in for the operating system's sockets: it records
    # where each connection would go and refuses it.
    connects: list[tuple[str, int]] = []

    async def refuse(sock: Any, address: tuple[Any, ...]) -> None:
        connects.append((address[0], address[1]))
        raise ConnectionRefusedError(111, "recorded, not connected")

    monkeypatch.setattr(asyncio.get_running_loop(), "sock_connect", refuse)
    http = WebhookClient(timeout=2)
    try:
        with pytest.raises(WebhookFailed, match=r"^ConnectError"):
            await http.post(target, content=b"{}", headers={})
    finally:
        await http.aclose()
    # Both checked addresses tried in order; the name never resolved again.
    assert connects == [("93.184.215.14", 8443), ("2606:4700:4700::1111", 8443)]
    assert dns.lookups == ["hook.example"]


async def test_an_address_in_the_url_must_be_one_the_check_saw() -> None:
    target = Target(url="http://127.0.0.1:9/x", host="127.0.0.1", addresses=(ip("10.0.0.1"),))
    http = WebhookClient(timeout=2)
    try:
        with pytest.raises(WebhookFailed, match="not a checked address"):
            await http.post(target, content=b"{}", headers={})
    finally:
        await http.aclose()


def ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


class Hook:
    """A webhook endpoint on loopback that records the Host header of each request."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.hosts.append(dict(scope["headers"])[b"host"].decode())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def _serve(app: Hook, port: int, **tls: Any) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off", **tls)
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    try:
        await eventually(started)
        yield
    finally:
        server.should_exit = True
        await task


async def test_the_host_header_is_the_name_and_no_second_lookup_happens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A proxy would resolve the name itself: the environment's proxies are not used.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    hook, port = Hook(), free_port()
    # Checked: loopback (allowlisted here); a second lookup would say 10.9.9.9, where nothing
    # listens, and the system's DNS does not know the name at all.
    dns = Dns({"hook.example": ["127.0.0.1"]})
    guard = WebhookGuard(tuple(networks(["127.0.0.0/8"])), dns)
    target = await guard.check(f"http://hook.example:{port}/x")
    dns.answers["hook.example"] = ["10.9.9.9"]
    http = WebhookClient(timeout=3)
    try:
        async with _serve(hook, port):
            assert await http.post(target, content=b"{}", headers={}) == 204
            # Outside a POST to a checked target nothing is pinned, and the client's
            # resolver refuses to look a name up at all (fail closed). (Another name: the
            # kept-alive connection of hook.example would be reused without a connect.)
            session = http._session
            assert session is not None
            with pytest.raises(aiohttp.ClientConnectorError, match="no checked address"):
                await session.post(f"http://localhost:{port}/x", data=b"{}")
    finally:
        await http.aclose()
    assert hook.hosts == [f"hook.example:{port}"]
    assert dns.lookups == ["hook.example"]


def _certificates(directory: Path, name: str) -> tuple[ssl.SSLContext, dict[str, str]]:
    """A CA, and a server certificate for `name` only (no IP address in it)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    trust = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    files = {"ssl_certfile": str(directory / "cert.pem"), "ssl_keyfile": str(directory / "key.pem")}
    return trust, files


async def test_tls_checks_the_certificate_against_the_name_while_connecting_by_address() -> None:
    hook, port = Hook(), free_port()
    dns = Dns({"hook.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    guard = WebhookGuard(tuple(networks(["127.0.0.0/8"])), dns)
    with tempfile.TemporaryDirectory() as directory:
        trust, files = _certificates(Path(directory), "hook.example")
        http = WebhookClient(timeout=3, tls=trust)
        try:
            async with _serve(hook, port, **files):
                ok = await http.post(
                    await guard.check(f"https://hook.example:{port}/x"),
                    content=b"{}",
                    headers={},
                )
                assert ok == 204
                # Same address, another name: the certificate is not for it, so no delivery.
                with pytest.raises(WebhookFailed, match="certificate"):
                    await http.post(
                        await guard.check(f"https://other.example:{port}/x"),
                        content=b"{}",
                        headers={},
                    )
        finally:
            await http.aclose()
    assert hook.hosts == [f"hook.example:{port}"]


@contextlib.asynccontextmanager
async def _raw_server(answer: bytes) -> AsyncIterator[tuple[int, list[int]]]:
    """A loopback server that reads a request's head and writes `answer` raw, then closes;
    yields its port and a list that counts the connections it accepted."""
    accepted: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        with contextlib.suppress(Exception):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(2)  # the test's body: "{}"
                writer.write(answer)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, accepted
    finally:
        server.close()
        await server.wait_closed()


def loopback_target(port: int) -> Target:
    """hook.example, checked as 127.0.0.1 (the raw servers' address)."""
    return Target(
        url=f"http://hook.example:{port}/x", host="hook.example", addresses=(ip("127.0.0.1"),)
    )


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 abc\r\n\r\n",
        b"not http at all\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 12\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
async def test_a_broken_answer_is_a_failed_attempt(answer: bytes) -> None:
    async with _raw_server(answer) as (port, _):
        target = loopback_target(port)
        http = WebhookClient(timeout=3)
        try:
            with pytest.raises(WebhookFailed):
                await http.post(target, content=b"{}", headers={})
        finally:
            await http.aclose()


async def test_a_long_answer_is_not_read_past_its_limit_and_its_connection_not_kept() -> None:
    body = b"x" * (4 * BODY_LIMIT)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
    async with _raw_server(head + body) as (port, accepted):
        target = loopback_target(port)
        http = WebhookClient(timeout=3)
        try:
            assert await http.post(target, content=b"{}", headers={}) == 200
            assert await http.post(target, content=b"{}", headers={}) == 200
        finally:
            await http.aclose()
    assert len(accepted) == 2  # each answer too long to read: a new connection each time


async def test_a_short_answer_keeps_its_connection_for_the_next_post() -> None:
    async with _raw_server(b"HTTP/1.1 204 No Content\r\n\r\n") as (port, accepted):
        target = loopback_target(port)
        http = WebhookClient(timeout=3)
        try:
            for _ in range(3):
                assert await http.post(target, content=b"{}", headers={}) == 204
        finally:
            await http.aclose()
    assert len(accepted) == 1


async def test_a_name_written_with_its_trailing_dot_is_pinned_too() -> None:
    async with _raw_server(b"HTTP/1.1 204 No Content\r\n\r\n") as (port, accepted):
        dns = Dns({"hook.example.": ["127.0.0.1"]})
        guard = WebhookGuard(tuple(networks(["127.0.0.0/8"])), dns)
        target = await guard.check(f"http://hook.example.:{port}/x")
        http = WebhookClient(timeout=3)
        try:
            assert await http.post(target, content=b"{}", headers={}) == 204
        finally:
            await http.aclose()
    assert len(accepted) == 1 and dns.lookups == ["hook.example."]
