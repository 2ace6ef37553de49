"""One connection pool per instance origin, shared by every client (API and OAuth) that talks to it.

Each ``Connection`` gets thin ``httpx.AsyncClient`` objects that borrow the origin's pooled transport, so
keep-alive connections are reused across apps and client ids. HTTP/2 is used only when the optional ``h2``
package is installed. The pool is closed when its last borrower gives it back.
"""

from __future__ import annotations

import importlib.util
import select
import socket
import ssl
import sys
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=10.0)
# Eight connections per instance, all kept alive. httpcore's pool scans its connections in a nested loop
# on every request (2 100 is_idle calls per request at 32 connections), so 32 connections cost 60 % more CPU
# per request than 8 at 32 concurrent requests; an instance serves one user's REST calls from a few
# semaphore slots per node anyway. Keep-alive equals the maximum: fewer would churn connections under load.
DEFAULT_LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=8, keepalive_expiry=30.0)


def http2_available() -> bool:
    """Whether httpx can speak HTTP/2 here (it needs the optional ``h2`` package)."""
    return importlib.util.find_spec("h2") is not None


def _readable(sock: socket.socket) -> bool:
    # What httpcore asks of an idle pooled connection: readable means the server closed it (or sent junk).
    if sys.platform == "win32" or not hasattr(select, "poll"):
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class SocketStream(httpcore.AsyncNetworkStream):
    """httpcore's anyio stream, with the pool's per-request idle-connection check made cheap.

    Before every request httpcore asks each pooled connection whether its socket is readable; through anyio
    each answer rebuilds a dict of socket attributes (16 % of the adapter's CPU at 32 concurrent requests).
    The socket of a connection never changes, so it is looked up once.
    """

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """Read up to ``max_bytes``."""
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Write all of ``buffer``."""
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        """Close the connection."""
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        """Upgrade to TLS; the TLS stream keeps the cheap check (same socket underneath)."""
        return SocketStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        """``is_readable`` and ``socket`` from the kept socket, the rest from anyio."""
        if info == "is_readable" and self._socket is not None:
            return _readable(self._socket)
        if info == "socket":
            return self._socket
        return self._stream.get_extra_info(info)


class SocketBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend handing out ``SocketStream`` connections."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A TCP connection to ``host:port``."""
        return SocketStream(
            await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A Unix socket connection (httpcore's interface; unused for instances)."""
        return SocketStream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        """Sleep the way anyio does."""
        await self._backend.sleep(seconds)


def pooled_transport(*, http2: bool, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport over a connection pool whose connections use ``SocketBackend``."""
    transport = httpx.AsyncHTTPTransport(http2=http2, limits=limits, retries=0)
    # httpx builds its pool without a way to pass a network backend; this pool is the same one with ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
        retries=0,
        network_backend=SocketBackend(),
    )
    return transport


class BorrowedTransport(httpx.AsyncBaseTransport):
    """A view of a shared transport whose ``aclose`` does not close the pool under other borrowers."""

    def __init__(self, pool: httpx.AsyncBaseTransport) -> None:
        self._pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the shared pool."""
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        """Nothing to close: the pool belongs to the registry."""


class TransportRegistry:
    """Pooled transports by origin, reference-counted; ``factory`` lets tests inject a transport."""

    def __init__(self, factory: Callable[[], httpx.AsyncBaseTransport] | None = None) -> None:
        self._factory = factory
        self._pools: dict[str, tuple[httpx.AsyncBaseTransport, int]] = {}

    def borrow(self, origin: str) -> BorrowedTransport:
        """A borrowed view of ``origin``'s pool, creating the pool on first use."""
        pool, count = self._pools.get(origin, (None, 0))
        if pool is None:
            pool = self._create()
        self._pools[origin] = (pool, count + 1)
        return BorrowedTransport(pool)

    async def give_back(self, origin: str) -> None:
        """Return one borrow of ``origin``'s pool; the last one closes it."""
        entry = self._pools.get(origin)
        if entry is None:
            return
        pool, count = entry
        if count > 1:
            self._pools[origin] = (pool, count - 1)
            return
        del self._pools[origin]
        await pool.aclose()

    def _create(self) -> httpx.AsyncBaseTransport:
        if self._factory is not None:
            return self._factory()
        return pooled_transport(http2=http2_available(), limits=DEFAULT_LIMITS)

    async def aclose(self) -> None:
        """Close every pool (shutdown)."""
        pools = [pool for pool, _ in self._pools.values()]
        self._pools.clear()
        for pool in pools:
            await pool.aclose()
