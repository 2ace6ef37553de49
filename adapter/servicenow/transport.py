"""One connection pool per instance origin, shared by every client (API and OAuth) that talks to it.

The pool is an ``Http1Pool`` (``http1.py``). API requests go to it straight through a ``Sender``; authlib's
OAuth client reaches the same pool as an httpx transport. A ``Connection`` borrows its origin's pool, and the
pool is closed when its last borrower gives it back. Tests may inject any httpx transport instead: it is then
driven through an httpx client (``HttpxSender``), with the same errors and the same single deadline.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Callable, Iterable

import httpx

from adapter.servicenow.http1 import Answer, Http1Pool, Http1Transport, PoolLimits, decoded

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=10.0)
# Up to 32 kept-alive connections per instance. With 8, requests queued for a connection while the instance
# sat idle between a response and the next request on the same socket: at 32 concurrent record GETs, 32 gave
# 1 662 req/s against 1 457 (means of 4 interleaved runs), at 128 concurrent 1 669 against 1 370. The pool
# scans nothing per request, so more connections cost no CPU; the JS peer (undici) does not cap them at all.
DEFAULT_LIMITS = PoolLimits(max_connections=32, keepalive_expiry=30.0)


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's verifying context (certifi's CA bundle), built once: loading it costs tens of milliseconds."""
    return httpx.create_ssl_context()


class PooledSender:
    """A borrower's view of an ``Http1Pool``: sends through it, never closes it."""

    def __init__(self, pool: Http1Pool) -> None:
        self._pool = pool

    async def send(
        self,
        method: str,
        url: httpx.URL,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        timeouts: httpx.Timeout,
    ) -> Answer:
        """Send through the pool."""
        return decoded(await self._pool.send(method, url, headers, body, timeouts))

    async def aclose(self) -> None:
        """Nothing to close: the pool belongs to the registry."""


class HttpxSender:
    """Any httpx transport as a ``Sender`` (tests inject mock instances this way)."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._client = httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)

    async def send(
        self,
        method: str,
        url: httpx.URL,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        timeouts: httpx.Timeout,
    ) -> Answer:
        """Send through the httpx client, with the whole exchange under ``timeouts.read``."""
        try:
            async with asyncio.timeout(timeouts.read):
                response = await self._client.request(
                    method, url, content=body, headers=list(headers), timeout=timeouts
                )
        except TimeoutError:
            raise httpx.ReadTimeout(f"Timed out: no complete answer within {timeouts.read} s") from None
        raw = [(name.lower(), value) for name, value in response.headers.raw]
        return Answer(response.status_code, raw, response.content)

    async def aclose(self) -> None:
        """Close the client (a borrowed transport stays open)."""
        await self._client.aclose()


Sender = PooledSender | HttpxSender
"""How a connection sends one API request and reads its whole, decoded answer (``send``, ``aclose``)."""


class BorrowedTransport(httpx.AsyncBaseTransport):
    """A view of a shared transport whose ``aclose`` does not close the pool under other borrowers."""

    def __init__(self, pool: httpx.AsyncBaseTransport) -> None:
        self._pool = pool

    def sender(self) -> Sender:
        """The fastest way to send API requests through the shared transport."""
        if isinstance(self._pool, Http1Transport):
            return PooledSender(self._pool.pool)
        return HttpxSender(self)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the shared pool."""
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        """Nothing to close: the pool belongs to the registry."""


def sender_for(transport: httpx.AsyncBaseTransport) -> Sender:
    """How a connection sends API requests through ``transport``."""
    if isinstance(transport, BorrowedTransport):
        return transport.sender()
    if isinstance(transport, Http1Transport):
        return PooledSender(transport.pool)
    return HttpxSender(transport)


class TransportRegistry:
    """Pooled transports by origin, reference-counted; ``factory`` lets tests inject a transport."""

    def __init__(self, factory: Callable[[], httpx.AsyncBaseTransport] | None = None) -> None:
        self._factory = factory
        self._pools: dict[str, tuple[httpx.AsyncBaseTransport, int]] = {}

    def borrow(self, origin: str) -> BorrowedTransport:
        """A borrowed view of ``origin``'s pool, creating the pool on first use."""
        pool, count = self._pools.get(origin, (None, 0))
        if pool is None:
            pool = self._create(origin)
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

    def _create(self, origin: str) -> httpx.AsyncBaseTransport:
        if self._factory is not None:
            return self._factory()
        return Http1Transport(Http1Pool(origin, limits=DEFAULT_LIMITS, ssl_context=default_ssl_context()))

    async def aclose(self) -> None:
        """Close every pool (shutdown)."""
        pools = [pool for pool, _ in self._pools.values()]
        self._pools.clear()
        for pool in pools:
            await pool.aclose()
