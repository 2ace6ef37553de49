"""One connection pool per instance origin, shared by every client (API and OAuth) that talks to it.

Each ``Connection`` gets thin ``httpx.AsyncClient`` objects that borrow the origin's pooled transport, so
keep-alive connections are reused across apps and client ids. HTTP/2 is used only when the optional ``h2``
package is installed. The pool is closed when its last borrower gives it back.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable

import httpx

# httpcore runs ``import sniffio`` on every request to learn the async library. Without sniffio installed that
# failed import searches sys.path each time (14 % of the adapter's CPU under load); a ``None`` entry in
# sys.modules makes it fail at once, and httpcore then assumes asyncio, as it is designed to.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=10.0)
# Keep every pooled connection alive: a smaller keep-alive count closes and reopens connections whenever more
# than that many requests run at once.
DEFAULT_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=30.0)


def http2_available() -> bool:
    """Whether httpx can speak HTTP/2 here (it needs the optional ``h2`` package)."""
    return importlib.util.find_spec("h2") is not None


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
        return httpx.AsyncHTTPTransport(http2=http2_available(), limits=DEFAULT_LIMITS, retries=0)

    async def aclose(self) -> None:
        """Close every pool (shutdown)."""
        pools = [pool for pool, _ in self._pools.values()]
        self._pools.clear()
        for pool in pools:
            await pool.aclose()
