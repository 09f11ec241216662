"""The webhook HTTP client: it connects only to addresses the guard checked for this request.

The URL keeps its host name, so the Host header, the TLS server name (SNI) and the
certificate check are the host's, and the connection pool is keyed by it. Only the socket's
destination is pinned: the client's resolver answers with the addresses of the checked
`Target` (through a context variable set around the request), tried in order, the next one
only when connecting to the previous failed, and never looks a name up itself; a host with no
pinned address cannot be connected to at all (fail closed). Proxy variables in the
environment are ignored (a proxy would resolve the name again), cookies are neither kept nor
sent, redirects are not followed.

aiohttp, not httpx: with 32 POSTs in flight httpcore's pool spent about 2.4 ms of CPU per
request on its bookkeeping (it asks every idle connection whether its socket is readable, per
request and per response), aiohttp 0.1 ms (bench/README.md, bench-notifier).
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import ipaddress
import os
import socket
import ssl
from collections.abc import Mapping

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from ciam_notifier.ssrf import Target

_PINNED: contextvars.ContextVar[Target | None] = contextvars.ContextVar(
    "webhook_pinned", default=None
)

# What is read of an answer's body (a receiver's "OK" or an error page); a longer body is
# left unread and its connection closed, not kept.
BODY_LIMIT = 64 * 1024


class WebhookFailed(Exception):
    """The POST got no HTTP answer: no connection, TLS refused, a timeout, a broken answer.
    Its text names the kind first (`ConnectError: ...`), as the delivery log shows it."""


class PinnedResolver(AbstractResolver):
    """Answers with the checked addresses of the request's target, and nothing else."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        target = _PINNED.get()
        # A trailing dot (the name's absolute form) on either side names the same host.
        if target is None or target.host.rstrip(".") != host.lower().rstrip("."):
            raise OSError(errno.EPERM, f"{host} has no checked address to connect to")
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
            for address in target.addresses
        ]

    async def close(self) -> None:
        return None


def default_tls() -> ssl.SSLContext:
    """The system's CAs, or those SSL_CERT_FILE / SSL_CERT_DIR name."""
    return ssl.create_default_context(
        cafile=os.environ.get("SSL_CERT_FILE") or None,
        capath=os.environ.get("SSL_CERT_DIR") or None,
    )


class WebhookClient:
    """POSTs webhook bodies to checked targets over a pool of kept-alive connections.

    The session is opened on the first POST (aiohttp wants a running event loop)."""

    def __init__(
        self,
        *,
        timeout: float,
        max_connections: int = 200,
        headers: Mapping[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.timeout = timeout
        self._max_connections = max_connections
        self._headers = dict(headers or {})
        self._tls = tls or default_tls()
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=PinnedResolver(),
            use_dns_cache=False,  # every new connection asks the resolver, so the pin holds
            happy_eyeballs_delay=None,  # addresses strictly in order, as the check listed them
            limit=self._max_connections,
            ssl=self._tls,
        )
        return aiohttp.ClientSession(
            connector=connector,
            headers=self._headers,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            auto_decompress=False,
        )

    async def post(self, target: Target, *, content: bytes, headers: Mapping[str, str]) -> int:
        """POST `content` to the target's URL; its HTTP status. Raises `WebhookFailed`."""
        _refuse_unchecked_literal(target)
        if self._session is None:
            self._session = self._open()
        token = _PINNED.set(target)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._session.post(
                    target.url, data=content, headers=dict(headers), allow_redirects=False
                ) as response:
                    await _read_some(response)
                    return response.status
        except TimeoutError as exc:
            raise WebhookFailed(f"Timeout: no answer within {self.timeout:g} s") from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            raise WebhookFailed(
                f"ConnectError: certificate refused: {exc.certificate_error}"
            ) from exc
        except aiohttp.ClientConnectorError as exc:  # DNS errors (the pin's refusal) too
            raise WebhookFailed(f"ConnectError: {exc}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise WebhookFailed(f"{type(exc).__name__}: {exc}") from exc
        finally:
            _PINNED.reset(token)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _refuse_unchecked_literal(target: Target) -> None:
    """An address in the URL is connected to without the resolver: it must be a checked one."""
    try:
        literal = ipaddress.ip_address(target.host)  # yarl's host: no brackets
    except ValueError:
        return
    if literal not in target.addresses:
        raise WebhookFailed(f"ConnectError: {target.host} is not a checked address")


async def _read_some(response: aiohttp.ClientResponse) -> None:
    """Read the answer's body up to BODY_LIMIT, so its connection can serve the next POST."""
    read = 0
    while read <= BODY_LIMIT:
        chunk = await response.content.readany()
        if not chunk:
            return
        read += len(chunk)
    response.close()  # too long to read: the connection is dropped, not reused
