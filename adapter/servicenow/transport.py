"""One connection pool per instance origin, shared by every client (API and OAuth) that talks to it.

The pool is an ``Http1Pool`` (``http1.py``). API requests go to it straight through a ``Sender``; authlib's
OAuth client reaches the same pool as an httpx transport. A ``Connection`` borrows its origin's pool, and the
pool is closed when its last borrower gives it back. Tests may inject any httpx transport instead: it is then
driven through an httpx client (``HttpxSender``), with the same errors and the same single deadline.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import structlog

from adapter.servicenow.errors import ApiRequestError
from adapter.servicenow.http1 import Answer, Http1Pool, Http1Transport, PoolLimits
from adapter.servicenow.proxy import ProxyChoice, ProxySettingError, is_loopback
from adapter.servicenow.trust import ssl_context

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=10.0)
# Up to 32 kept-alive connections per instance: with fewer, requests queue for a connection while the instance
# sits idle between a response and the next request on the same socket (docs/performance.md). The pool scans
# nothing per request, so more connections cost no CPU; the JS peer (undici) does not cap them at all.
DEFAULT_LIMITS = PoolLimits(max_connections=32, keepalive_expiry=30.0)


def default_ssl_context() -> ssl.SSLContext:
    """The verifying context of the OS trust store (``trust.py``), built once."""
    return ssl_context()


@dataclass(frozen=True, slots=True)
class Network:
    """How the pools reach instances: the extra CA bundle, the proxy choice and the bounds on answers."""

    ca_bundle: Path | None = None
    proxy: ProxyChoice = field(default_factory=ProxyChoice)
    limits: PoolLimits = DEFAULT_LIMITS

    @classmethod
    def configured(cls, *, ca_bundle: Path | None, proxy: str | None, max_response_body: int) -> Network:
        """From the settings: ``proxy`` is ``--proxy`` (None: the system's settings)."""
        return cls(
            ca_bundle=ca_bundle,
            proxy=ProxyChoice(setting=proxy),
            limits=replace(DEFAULT_LIMITS, max_response_body=max_response_body),
        )


def warn_if_plain_http(instance_url: str) -> bool:
    """Log a warning when ``instance_url`` is plain http on another host than loopback (tokens and records
    would cross the network readable); returns whether it warned."""
    url = httpx.URL(instance_url)
    if url.scheme != "http" or is_loopback(url.host):
        return False
    log.warning(
        "instance.plain_http",
        instance=instance_url,
        hint="tokens and records cross the network unencrypted; ServiceNow instances are https only",
    )
    return True


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
        """Send through the pool (which decodes the body)."""
        return await self._pool.send(method, url, headers, body, timeouts)

    async def aclose(self) -> None:
        """Nothing to close: the pool belongs to the registry."""


class HttpxSender:
    """Any httpx transport as a ``Sender`` (tests inject mock instances this way; the adapter itself always
    sends through an ``Http1Pool``, which alone enforces the bounds on answers)."""

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

    def __init__(
        self, factory: Callable[[], httpx.AsyncBaseTransport] | None = None, *, network: Network | None = None
    ) -> None:
        self._factory = factory
        self._network = network or Network()
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
        network = self._network
        warn_if_plain_http(origin)
        url = httpx.URL(origin)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            proxy = network.proxy.for_origin(url.scheme, url.host, port)
        except ProxySettingError as error:
            # --proxy is checked at start-up; the system's settings only here, when an app first reaches
            # the instance: a named error for the app, worded without the URL (it may hold a password).
            raise ApiRequestError(
                f"The system's proxy setting for {origin} (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY or the OS "
                f"settings) is not usable: {error}"
            ) from None
        if proxy is not None:
            log.info("transport.proxied", instance=origin, proxy=proxy.shown, tunnel=url.scheme == "https")
        context = ssl_context(network.ca_bundle)
        return Http1Transport(Http1Pool(origin, limits=network.limits, ssl_context=context, proxy=proxy))

    async def aclose(self) -> None:
        """Close every pool (shutdown)."""
        pools = [pool for pool, _ in self._pools.values()]
        self._pools.clear()
        for pool in pools:
            await pool.aclose()
