"""The webhook HTTP client: it connects only to addresses the guard checked for this request.

The URL keeps its host name, so the Host header, the TLS server name (SNI) and the
certificate check are the host's, and the connection pool is keyed by it. Only the socket's
destination is pinned: the network backend takes the address from the checked `Target`
(through a context variable set around the request) and never resolves a name itself; a host
with no pinned address cannot be connected to at all (fail closed). Proxy variables in the
environment are ignored (a proxy would resolve the name again); SSL_CERT_FILE and
SSL_CERT_DIR still name the trusted CAs.
"""

from __future__ import annotations

import contextvars
import ssl
from collections.abc import Iterable, Mapping

import httpcore
import httpx

from ciam_notifier.ssrf import IPAddress, Target

_PINNED: contextvars.ContextVar[tuple[str, IPAddress] | None] = contextvars.ContextVar(
    "webhook_pinned", default=None
)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pinned = _PINNED.get()
        if pinned is None or pinned[0] != host.lower():
            raise httpcore.ConnectError(f"{host} has no checked address to connect to")
        return await self._inner.connect_tcp(
            str(pinned[1]), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks do not go to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request mapping, error mapping) over a pool whose network
    backend is `PinnedBackend`. httpx has no public switch for the backend, so the pool it
    built is replaced (tests/unit/test_webhook_guard.py proves the backend is in use)."""

    def __init__(self, *, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(verify=verify, limits=limits)
        ssl_context = (
            verify
            if isinstance(verify, ssl.SSLContext)
            else httpx.create_ssl_context(verify=verify)  # honours SSL_CERT_FILE / _DIR
        )
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(),
        )


def webhook_client(
    *,
    timeout: float,
    limits: httpx.Limits,
    headers: Mapping[str, str],
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=PinnedTransport(verify=verify, limits=limits),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers=dict(headers),
    )


async def post_pinned(
    http: httpx.AsyncClient, target: Target, *, content: bytes, headers: Mapping[str, str]
) -> httpx.Response:
    """POST to the target, connecting to its checked addresses in order (the next one only
    when connecting to the previous failed); never to an address the check did not see."""
    last: httpx.TransportError | None = None
    for address in target.addresses:
        token = _PINNED.set((target.host, address))
        try:
            return await http.post(target.url, content=content, headers=dict(headers))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            last = exc
        finally:
            _PINNED.reset(token)
    assert last is not None  # a Target has at least one address
    raise last
