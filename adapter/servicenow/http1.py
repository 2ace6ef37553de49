"""A lean HTTP/1.1 keep-alive pool for one instance origin: our own framing (``http1_framing``) on asyncio
streams.

Why not httpx's own stack for API requests: under 32 concurrent record GETs the httpx client layer plus
httpcore's pool cost more CPU per request than a plain HTTP/1.1 exchange on asyncio streams (figures in
docs/performance.md, "One HTTP stack"); httpcore's pool also scans its connections in a nested loop per
request and does not serve waiters in arrival order. This pool is linear, hands connections to waiters first
come first served, and raises httpx's exception types, so callers keep one vocabulary of transport errors.
``Http1Transport`` puts the same pool under httpx clients (authlib's OAuth calls), so an instance has one pool
for everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from adapter import __version__
from adapter.servicenow.body_decoding import BodyDecoder, ResponseTooLarge
from adapter.servicenow.http1_framing import ResponseParser, request_bytes
from adapter.servicenow.proxy import Proxy

USER_AGENT = f"servicenow-adapter/{__version__}".encode("ascii")
READ_CHUNK = 65_536
# As a browser: Chromium accepts response headers up to 256 KiB (a common default is 16 KiB, which the Table
# API's Link header, repeating a long request URL, passes).
MAX_HEADER_BYTES = 262_144
DEFAULT_MAX_RESPONSE_BODY = 32 * 1024 * 1024
# Framing, routing and content codings are the pool's, as a browser's fetch owns them: a caller's are dropped.
_POOL_HEADERS = frozenset(
    {b"host", b"content-length", b"transfer-encoding", b"connection", b"accept-encoding"}
)


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """How many connections one origin may hold, how long an idle one is kept, and how large an answer's
    headers and decoded body may be."""

    max_connections: int = 8
    keepalive_expiry: float = 30.0
    max_header_bytes: int = MAX_HEADER_BYTES
    max_response_body: int = DEFAULT_MAX_RESPONSE_BODY


@dataclass(frozen=True, slots=True)
class Answer:
    """One complete response: status, headers as received (names lower-cased) and the decoded body."""

    status_code: int
    raw_headers: list[tuple[bytes, bytes]]
    content: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (lower-case), repeated values joined with ``", "``."""
        key = name.encode("ascii")
        values = [value for found, value in self.raw_headers if found == key]
        return b", ".join(values).decode("latin-1") if values else None

    @property
    def is_success(self) -> bool:
        """2xx."""
        return 200 <= self.status_code < 300

    @property
    def is_error(self) -> bool:
        """4xx and 5xx."""
        return self.status_code >= 400


class CertificateNotTrusted(httpx.ConnectError):
    """The instance's TLS certificate did not verify against the trusted CAs; retrying cannot help."""


def network_failure(error: BaseException) -> str | None:
    """What to tell the user about a failure that retrying cannot fix and that they can act on: an
    untrusted certificate or a refusing proxy; None for any other error."""
    if isinstance(error, CertificateNotTrusted):
        return (
            f"the instance's TLS certificate is not trusted ({error}); behind a TLS-inspecting proxy, "
            "install its CA in the system trust store or give it with --ca-bundle"
        )
    if isinstance(error, httpx.ProxyError):
        return str(error)
    return None


class _Http1Connection:
    """One keep-alive connection; used by one request at a time."""

    __slots__ = ("_limits", "_reader", "_reusable", "_writer", "idle_since")

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: PoolLimits
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._limits = limits
        self._reusable = True
        self.idle_since = 0.0

    def usable(self) -> bool:
        """False once the server closed it (seen as EOF while it sat idle) or it broke."""
        return self._reusable and not (self._reader.at_eof() or self._writer.is_closing())

    async def exchange(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes | None
    ) -> tuple[Answer, bool]:
        """Send one request and read its whole response, decoded within the limits; returns it and whether
        the connection is reusable."""
        # Not reusable until this exchange completes: a request cancelled or failed half-way leaves the
        # connection mid-message.
        self._reusable = False
        data = request_bytes(method, target, headers, body)
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as error:
            raise httpx.WriteError(str(error) or type(error).__name__) from None
        parser = ResponseParser(
            head_request=method == b"HEAD", max_header_bytes=self._limits.max_header_bytes
        )
        decoder: BodyDecoder | None = None
        try:
            while not parser.done:
                pieces = parser.feed(await self._reader.read(READ_CHUNK))
                if decoder is None and parser.head is not None:
                    decoder = self._decoder(parser.head.headers)
                if decoder is not None:
                    for piece in pieces:
                        decoder.feed(piece)
        except OSError as error:
            raise httpx.ReadError(str(error) or type(error).__name__) from None
        head = parser.head
        if head is None or decoder is None:  # a parser is done only after a final head
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        content = decoder.finish()
        response_headers = head.headers
        if decoder.decodes:
            # The body is handed on decoded: its coding and length headers no longer describe it.
            response_headers = [
                (name, value)
                for name, value in response_headers
                if name not in (b"content-encoding", b"content-length")
            ]
        self._reusable = parser.reusable
        return Answer(head.status_code, response_headers, content), parser.reusable

    def _decoder(self, headers: list[tuple[bytes, bytes]]) -> BodyDecoder:
        limit = self._limits.max_response_body
        encodings: list[bytes] = []
        for name, value in headers:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise ResponseTooLarge(f"The response body is larger than {limit} bytes", limit=limit)
            if name == b"content-encoding":
                encodings.append(value)
        return BodyDecoder(b", ".join(encodings).decode("latin-1") or None, limit)

    def close(self) -> None:
        """Close the socket without waiting (a closing connection has nothing left to say)."""
        with contextlib.suppress(Exception):
            self._writer.close()


class Http1Pool:
    """Keep-alive HTTP/1.1 connections to one origin, at most ``limits.max_connections`` of them.

    Idle connections are reused newest first (warm sockets); requests that find every connection busy wait
    in arrival order. A connection whose request was cancelled or failed mid-way is closed, never reused.
    Closing the pool fails the requests in flight.
    """

    def __init__(
        self,
        origin: str,
        *,
        limits: PoolLimits = PoolLimits(),
        ssl_context: ssl.SSLContext,
        proxy: Proxy | None = None,
    ) -> None:
        url = httpx.URL(origin)
        self.origin = origin
        self._scheme = url.scheme
        self._host = url.host
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._host_header = url.netloc
        self._ssl = ssl_context if url.scheme == "https" else None
        self._limits = limits
        self._proxy = proxy
        shown_host = f"[{self._host}]" if ":" in self._host else self._host
        self._authority = f"{shown_host}:{self._port}".encode("ascii")
        # Plain http through a proxy: the request names the whole URL and carries the proxy's credentials;
        # https goes through a CONNECT tunnel, where the proxy sees neither path nor headers.
        self._forwarded = proxy is not None and self._ssl is None
        self._idle: list[_Http1Connection] = []
        self._busy: set[_Http1Connection] = set()
        self._waiters: deque[asyncio.Future[_Http1Connection | None]] = deque()
        self._open = 0
        self._closed = False

    @property
    def connections(self) -> int:
        """Connections open now (idle and busy)."""
        return self._open

    async def send(
        self,
        method: str,
        url: httpx.URL,
        headers: Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]],
        body: bytes | None,
        timeouts: httpx.Timeout,
    ) -> Answer:
        """One request to this origin; the response is read whole, its body decoded (``BodyDecoder``).

        Raises ``httpx.TransportError`` kinds.

        ``timeouts.pool`` bounds the wait for a connection, ``timeouts.connect`` opening one and
        ``timeouts.read`` the whole exchange (one deadline, not per chunk).
        """
        request_headers = self._headers(method, headers, body)
        connection = await self._acquire(timeouts)
        self._busy.add(connection)
        reusable = False
        try:
            try:
                async with asyncio.timeout(timeouts.read):
                    answer, reusable = await connection.exchange(
                        method.encode("ascii"), self._target(url), request_headers, body
                    )
            except TimeoutError:
                raise httpx.ReadTimeout(f"Timed out: no complete answer within {timeouts.read} s") from None
        finally:
            self._busy.discard(connection)
            self._release(connection, reusable)
        return answer

    def _target(self, url: httpx.URL) -> bytes:
        if self._forwarded:
            return f"{self._scheme}://".encode("ascii") + self._authority + url.raw_path
        return url.raw_path

    def _headers(
        self,
        method: str,
        given: Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]],
        body: bytes | None,
    ) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = [(b"Host", self._host_header)]
        named = {b"host"}
        for name, value in given:
            raw_name = name.encode("ascii") if isinstance(name, str) else name
            raw_value = value.encode("ascii") if isinstance(value, str) else value
            lowered = raw_name.lower()
            if lowered in _POOL_HEADERS:
                continue
            named.add(lowered)
            headers.append((raw_name, raw_value))
        headers.append((b"Accept-Encoding", b"gzip, deflate"))
        if b"user-agent" not in named:
            headers.append((b"User-Agent", USER_AGENT))
        if body or method in ("POST", "PUT", "PATCH"):
            headers.append((b"Content-Length", str(len(body or b"")).encode("ascii")))
        if self._forwarded and self._proxy is not None and self._proxy.authorization is not None:
            headers.append((b"Proxy-Authorization", self._proxy.authorization))
        return headers

    async def _acquire(self, timeouts: httpx.Timeout) -> _Http1Connection:
        if self._closed:
            raise httpx.ConnectError("The connection pool is closed")
        loop = asyncio.get_running_loop()
        while self._idle:
            connection = self._idle.pop()
            if self._reusable(connection, loop.time()):
                return connection
            self._discard(connection)
        if self._open < self._limits.max_connections and not self._waiters:
            self._open += 1  # the slot is ours from here; _connect gives it back if it fails
            return await self._connect(timeouts)
        waiter: asyncio.Future[_Http1Connection | None] = loop.create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeouts.pool):
                handed = await waiter
        except BaseException as error:
            handed_anyway = waiter.done() and not waiter.cancelled() and waiter.exception() is None
            if handed_anyway and isinstance(error, TimeoutError):
                handed = waiter.result()  # handed over in the very step the deadline passed: use it
            else:
                if handed_anyway:  # cancelled as it was handed over: pass it on, never leak it
                    self._pass_on(waiter.result())
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                if isinstance(error, TimeoutError):
                    raise httpx.PoolTimeout(
                        f"No connection to {self.origin} free within {timeouts.pool} s"
                    ) from None
                raise
        if handed is not None:
            return handed
        return await self._connect(timeouts)

    async def _connect(self, timeouts: httpx.Timeout) -> _Http1Connection:
        """Open a connection in a slot already counted in ``_open``."""
        try:
            async with asyncio.timeout(timeouts.connect):
                reader, writer = await self._open_stream()
        except TimeoutError:
            self._pass_on(None)
            raise httpx.ConnectTimeout(f"Timed out connecting to {self._via()}") from None
        except ssl.SSLCertVerificationError as error:
            self._pass_on(None)
            raise CertificateNotTrusted(error.verify_message or str(error)) from None
        except (OSError, ssl.SSLError) as error:
            self._pass_on(None)
            raise httpx.ConnectError(f"{self._via()}: {str(error) or type(error).__name__}") from None
        except BaseException:
            self._pass_on(None)
            raise
        connection = _Http1Connection(reader, writer, self._limits)
        if self._closed:  # signed out while connecting: this request must not go out after all
            self._discard(connection)
            raise httpx.ConnectError("The connection pool is closed")
        return connection

    def _via(self) -> str:
        return self.origin if self._proxy is None else f"{self.origin} through the proxy {self._proxy.shown}"

    async def _open_stream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        proxy = self._proxy
        if proxy is None:
            return await asyncio.open_connection(
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl is not None else None,
                limit=READ_CHUNK,
            )
        reader, writer = await asyncio.open_connection(proxy.host, proxy.port, limit=READ_CHUNK)
        if self._ssl is None:
            return reader, writer
        try:
            await self._tunnel(proxy, reader, writer)
            await writer.start_tls(self._ssl, server_hostname=self._host)
        except BaseException:
            writer.close()
            raise
        return reader, writer

    async def _tunnel(self, proxy: Proxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Ask the proxy for a tunnel to the instance (CONNECT); ``httpx.ProxyError`` when it refuses."""
        request = b"CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n" % (
            self._authority,
            self._authority,
            USER_AGENT,
        )
        if proxy.authorization is not None:
            request += b"Proxy-Authorization: " + proxy.authorization + b"\r\n"
        writer.write(request + b"\r\n")
        await writer.drain()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            raise httpx.ProxyError(f"The proxy {proxy.shown} closed the connection") from None
        except asyncio.LimitOverrunError:
            raise httpx.ProxyError(f"The proxy {proxy.shown} sent an over-long answer") from None
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise httpx.ProxyError(f"The proxy {proxy.shown} answered CONNECT with {status_line[:80]!r}")
        if not 200 <= int(parts[1]) < 300:
            hint = " (proxy credentials missing or refused)" if parts[1] == "407" else ""
            raise httpx.ProxyError(
                f"The proxy {proxy.shown} refused the tunnel to {self.origin}: {status_line[9:80]}{hint}"
            )

    def _release(self, connection: _Http1Connection, reusable: bool) -> None:
        if reusable and not self._closed:
            self._pass_on(connection)
        else:
            self._discard(connection)

    def _pass_on(self, connection: _Http1Connection | None) -> None:
        """Hand a connection (``None``: its slot) to the first waiter; else keep it idle or free the slot."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if connection is None:
            self._open -= 1
            return
        now = asyncio.get_running_loop().time()
        # Newest first means the oldest idle connections are rarely looked at: close those the server has
        # closed or that outlived the keep-alive, rather than hold their sockets until sign-out.
        while self._idle and not self._reusable(self._idle[0], now):
            self._discard(self._idle.pop(0))
        connection.idle_since = now
        self._idle.append(connection)

    def _reusable(self, connection: _Http1Connection, now: float) -> bool:
        return connection.usable() and now - connection.idle_since < self._limits.keepalive_expiry

    def _discard(self, connection: _Http1Connection) -> None:
        connection.close()
        self._pass_on(None)

    async def aclose(self) -> None:
        """Fail the waiters and close every connection: requests still in flight fail at once.

        The pool closes when the last connection to its instance does (sign-out): nobody is left to read
        an answer, and a request held up by a slow instance must not outlive the sign-out.
        """
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(httpx.ConnectError("The connection pool is closed"))
        idle, self._idle = self._idle, []
        for connection in idle:
            self._discard(connection)
        for connection in list(self._busy):
            connection.close()  # its request fails and releases it


class Http1Transport(httpx.AsyncBaseTransport):
    """An ``Http1Pool`` under an httpx client (authlib's OAuth client uses it)."""

    def __init__(self, pool: Http1Pool) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the pool; the body is read whole and decoded (OAuth answers are small)."""
        body = await request.aread()
        given = request.extensions.get("timeout", {})
        timeout = httpx.Timeout(
            connect=given.get("connect"),
            read=given.get("read"),
            write=given.get("write"),
            pool=given.get("pool"),
        )
        answer = await self.pool.send(request.method, request.url, request.headers.raw, body or None, timeout)
        return httpx.Response(
            answer.status_code,
            headers=answer.raw_headers,
            stream=httpx.ByteStream(answer.content),
            request=request,
        )

    async def aclose(self) -> None:
        """Close the pool."""
        await self.pool.aclose()
