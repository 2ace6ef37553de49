"""The lean HTTP/1.1 pool against scripted servers on loopback: reuse, limits, fairness and every failure."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapter.servicenow.http1 import Http1Pool, Http1Transport, PoolLimits
from adapter.servicenow.transport import default_ssl_context
from tests.support.waiting import eventually

TIMEOUTS = httpx.Timeout(5.0)
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A loopback server running ``handler`` per connection, counting the connections it accepted."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.accepted = 0
        self.requests: list[bytes] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        """One request head (and its Content-Length body), or None at end of stream."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        request = head + (await reader.readexactly(length) if length else b"")
        self.requests.append(request)
        return request

    @property
    def url(self) -> httpx.URL:
        return httpx.URL(f"http://127.0.0.1:{self.port}/api/now/table/incident?sysparm_limit=1")


def reply(body: bytes = b'{"result":[]}', *, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra
        + b"\r\n"
        + body
    )


@asynccontextmanager
async def serving(handler: Handler | None = None) -> AsyncIterator[Server]:
    server = Server(handler or (lambda r, w: keep_alive(server, r, w)))
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()


async def keep_alive(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await server.read_request(reader) is not None:
        writer.write(reply())
        await writer.drain()


@asynccontextmanager
async def held_until_released() -> AsyncIterator[tuple[Server, asyncio.Event]]:
    """A server that answers a request only once the event it yields is set."""
    release = asyncio.Event()

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await release.wait()
        writer.write(reply())
        await writer.drain()

    async with serving(held) as server:
        yield server, release


def pool_for(server: Server, *, max_connections: int = 8, keepalive_expiry: float = 30.0) -> Http1Pool:
    limits = PoolLimits(max_connections=max_connections, keepalive_expiry=keepalive_expiry)
    return Http1Pool(f"http://127.0.0.1:{server.port}", limits=limits, ssl_context=default_ssl_context())


async def test_sequential_requests_reuse_one_kept_alive_connection() -> None:
    async with serving() as server:
        pool = pool_for(server)
        for _ in range(5):
            answer = await pool.send("GET", server.url, [("Accept", "application/json")], None, TIMEOUTS)
            assert answer.status_code == 200
            assert answer.content == b'{"result":[]}'
        assert server.accepted == 1
        await pool.aclose()


async def test_requests_carry_host_target_and_caller_headers_and_bodies_carry_their_length() -> None:
    async with serving() as server:
        pool = pool_for(server)
        await pool.send("POST", server.url, [("X-Trace", "abc")], b'{"a":1}', TIMEOUTS)
        await pool.send("POST", server.url, [], None, TIMEOUTS)
        first, empty = server.requests
        assert first.startswith(b"POST /api/now/table/incident?sysparm_limit=1 HTTP/1.1\r\n")
        assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in first
        assert b"X-Trace: abc\r\n" in first
        assert b"Content-Length: 7\r\n" in first
        assert first.endswith(b'{"a":1}')
        assert b"Content-Length: 0\r\n" in empty
        await pool.aclose()


async def test_never_more_connections_than_the_limit_and_waiters_are_served_in_arrival_order() -> None:
    release = asyncio.Event()
    order: list[bytes] = []

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await server.read_request(reader)) is not None:
            order.append(request.split(b" ", 2)[1])
            await release.wait()
            writer.write(reply())
            await writer.drain()

    async with serving(slow) as server:
        pool = pool_for(server, max_connections=2)
        base = f"http://127.0.0.1:{server.port}"
        tasks = []
        for index in range(6):
            tasks.append(
                asyncio.create_task(pool.send("GET", httpx.URL(f"{base}/{index}"), [], None, TIMEOUTS))
            )
            # A definite arrival order: each request is at the server or queued before the next is made.
            await eventually(
                lambda: len(order) + len(pool._waiters) == len(tasks),
                f"request {index} at the server or queued",
            )
        # Every request has arrived (two at the server, four queued), so a third connection would exist now.
        assert len(pool._waiters) == 4
        assert server.accepted == 2
        assert pool.connections == 2
        release.set()
        answers = await asyncio.gather(*tasks)
        assert [a.status_code for a in answers] == [200] * 6
        assert server.accepted == 2
        assert order[2:] == [b"/2", b"/3", b"/4", b"/5"]
        await pool.aclose()


async def test_an_idle_connection_the_server_closed_is_replaced_without_an_error() -> None:
    async def one_shot(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(reply())
        await writer.drain()  # then the handler returns and the server closes, as on a keep-alive timeout

    async with serving(one_shot) as server:
        pool = pool_for(server)
        await pool.send("GET", server.url, [], None, TIMEOUTS)
        [idle] = pool._idle
        await eventually(lambda: not idle.usable(), "the server's FIN seen on the idle connection")
        answer = await pool.send("GET", server.url, [], None, TIMEOUTS)
        assert answer.status_code == 200
        assert server.accepted == 2
        await pool.aclose()


async def test_a_connection_idle_longer_than_the_keepalive_expiry_is_not_reused() -> None:
    async with serving() as server:
        pool = pool_for(server, keepalive_expiry=0.05)
        await pool.send("GET", server.url, [], None, TIMEOUTS)
        await asyncio.sleep(
            0.1
        )  # the subject: time passing beyond the expiry (a slow machine only adds to it)
        await pool.send("GET", server.url, [], None, TIMEOUTS)
        assert server.accepted == 2
        assert pool.connections == 1
        await pool.aclose()


async def test_connection_close_from_the_server_is_honoured() -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await server.read_request(reader) is not None:
            writer.write(reply(extra=b"Connection: close\r\n"))
            await writer.drain()

    async with serving(closing) as server:
        pool = pool_for(server)
        await pool.send("GET", server.url, [], None, TIMEOUTS)
        await pool.send("GET", server.url, [], None, TIMEOUTS)
        assert server.accepted == 2
        assert pool.connections == 0
        await pool.aclose()


async def test_chunked_and_gzip_bodies_come_back_whole_and_decoded() -> None:
    payload = b'{"result":{"number":"CS0001"}}' * 50
    packed = gzip.compress(payload)

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for start in range(0, len(packed), 100):
            piece = packed[start : start + 100]
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with serving(chunked) as server:
        pool = pool_for(server)
        answer = await pool.send("GET", server.url, [], None, TIMEOUTS)
        assert answer.content == payload
        assert answer.header("content-type") == "application/json"
        await pool.aclose()


async def test_a_garbled_gzip_body_is_a_decoding_error() -> None:
    async def garbled(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(reply(b"not gzip at all", extra=b"Content-Encoding: gzip\r\n"))
        await writer.drain()

    async with serving(garbled) as server:
        pool = pool_for(server)
        with pytest.raises(httpx.DecodingError):
            await pool.send("GET", server.url, [], None, TIMEOUTS)
        await pool.aclose()


async def test_a_refused_connection_is_a_connect_error_and_frees_its_slot() -> None:
    async with serving() as server:
        port = server.port
    pool = Http1Pool(
        f"http://127.0.0.1:{port}", limits=PoolLimits(max_connections=1), ssl_context=default_ssl_context()
    )
    for _ in range(3):  # the slot comes back each time: no PoolTimeout on the later attempts
        with pytest.raises(httpx.ConnectError):
            await pool.send("GET", httpx.URL(f"http://127.0.0.1:{port}/"), [], None, TIMEOUTS)
    assert pool.connections == 0


async def test_a_server_dropping_the_connection_mid_response_is_a_protocol_error() -> None:
    async def dropping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"result":')
        await writer.drain()

    async with serving(dropping) as server:
        pool = pool_for(server)
        with pytest.raises(httpx.RemoteProtocolError):
            await pool.send("GET", server.url, [], None, TIMEOUTS)
        assert pool.connections == 0
        await pool.aclose()


async def test_a_silent_server_is_a_read_timeout_and_the_connection_is_dropped() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await asyncio.sleep(10)  # the subject: a server that never answers (within the read timeout)

    async with serving(silent) as server:
        pool = pool_for(server)
        with pytest.raises(httpx.ReadTimeout):
            await pool.send("GET", server.url, [], None, httpx.Timeout(5.0, read=0.1))
        assert pool.connections == 0
        await pool.aclose()


async def test_waiting_longer_than_the_pool_timeout_is_a_pool_timeout() -> None:
    async with held_until_released() as (server, release):
        pool = pool_for(server, max_connections=1)
        busy = asyncio.create_task(pool.send("GET", server.url, [], None, TIMEOUTS))
        await eventually(lambda: server.requests, "the first request holding the only connection")
        with pytest.raises(httpx.PoolTimeout):
            await pool.send("GET", server.url, [], None, httpx.Timeout(5.0, pool=0.05))
        release.set()
        assert (await busy).status_code == 200
        await pool.aclose()


async def test_a_cancelled_request_closes_its_connection_and_the_next_request_gets_a_fresh_one() -> None:
    first = asyncio.Event()

    async def stall_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        if not first.is_set():
            first.set()
            await asyncio.sleep(10)  # the subject: a stalled answer, cancelled by the test long before
        writer.write(reply())
        await writer.drain()

    async with serving(stall_first) as server:
        pool = pool_for(server, max_connections=1)
        stalled = asyncio.create_task(pool.send("GET", server.url, [], None, TIMEOUTS))
        waiting = asyncio.create_task(pool.send("GET", server.url, [], None, TIMEOUTS))
        await first.wait()
        stalled.cancel()
        answer = await asyncio.wait_for(waiting, 5.0)  # the waiter gets the freed slot
        assert answer.status_code == 200
        assert server.accepted == 2
        await pool.aclose()


async def test_closing_the_pool_fails_its_waiters_and_the_requests_in_flight() -> None:
    async with held_until_released() as (server, release):
        pool = pool_for(server, max_connections=1)
        busy = asyncio.create_task(pool.send("GET", server.url, [], None, TIMEOUTS))
        await eventually(lambda: server.requests, "the first request in flight")
        waiting = asyncio.create_task(pool.send("GET", server.url, [], None, TIMEOUTS))
        await eventually(lambda: pool._waiters, "the second request waiting for the connection")
        await pool.aclose()
        with pytest.raises(httpx.ConnectError):
            await waiting
        with pytest.raises(httpx.RemoteProtocolError):  # in flight: nobody is left to read the answer
            await busy
        release.set()
        assert pool.connections == 0
        with pytest.raises(httpx.ConnectError):
            await pool.send("GET", server.url, [], None, TIMEOUTS)


async def test_httpx_clients_share_the_pool_through_the_transport() -> None:
    async with serving() as server:
        pool = pool_for(server)
        async with httpx.AsyncClient(transport=Http1Transport(pool)) as client:
            first = await client.post(str(server.url), data={"grant_type": "refresh_token"})
            second = await client.get(str(server.url))
        assert (first.status_code, first.json()) == (200, {"result": []})
        assert second.status_code == 200
        assert b"Content-Type: application/x-www-form-urlencoded" in server.requests[0]
        assert server.accepted == 1
        assert pool.connections == 0  # closing the client closed the pool it was given


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and its key, as an instance's TLS endpoint would present."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def test_https_instances_are_reached_over_verified_tls_and_an_untrusted_certificate_is_refused(
    tmp_path: Path,
) -> None:
    cert_path, key_path = self_signed(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    served = Server(lambda r, w: keep_alive(served, r, w))
    listener = await asyncio.start_server(served._serve, "127.0.0.1", 0, ssl=server_context)
    port = listener.sockets[0].getsockname()[1]
    url = httpx.URL(f"https://localhost:{port}/api/now/table/incident")
    try:
        trusting = ssl.create_default_context(cafile=str(cert_path))
        pool = Http1Pool(f"https://localhost:{port}", ssl_context=trusting)
        for _ in range(2):
            assert (await pool.send("GET", url, [], None, TIMEOUTS)).status_code == 200
        assert served.accepted == 1
        assert f"Host: localhost:{port}\r\n".encode() in served.requests[0]
        await pool.aclose()

        stranger = Http1Pool(f"https://localhost:{port}", ssl_context=default_ssl_context())
        with pytest.raises(httpx.ConnectError):  # not signed by a CA the adapter trusts
            await stranger.send("GET", url, [], None, TIMEOUTS)
        assert stranger.connections == 0
    finally:
        listener.close()
        await listener.wait_closed()


async def test_a_connection_handed_over_in_the_step_the_pool_deadline_passes_is_used_not_lost() -> None:
    async with held_until_released() as (server, release):
        pool = pool_for(server, max_connections=1)
        busy = asyncio.create_task(pool.send("GET", server.url, [], None, TIMEOUTS))
        await eventually(lambda: server.requests, "the first request holding the only connection")
        held = next(iter(pool._busy))
        waiting = asyncio.create_task(pool._acquire(httpx.Timeout(5.0, pool=0.5)))
        await eventually(lambda: pool._waiters, "the second caller waiting")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 0.5  # at or after the waiter's own deadline, armed before it queued

        def late_release() -> None:
            while loop.time() <= deadline:  # the subject: the loop is busy past the pool deadline...
                time.sleep(0.01)
            loop.call_soon(pool._pass_on, held)  # ...and the connection comes free in the timer's own step

        loop.call_soon(late_release)
        assert await waiting is held
        assert (pool.connections, len(pool._waiters)) == (1, 0)
        busy.cancel()
        release.set()
        await asyncio.gather(busy, return_exceptions=True)
        await pool.aclose()


async def test_idle_connections_the_server_closed_are_dropped_when_a_connection_is_put_back() -> None:
    turns = [asyncio.Event() for _ in range(3)]

    async def first_two_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        order = server.accepted
        while await server.read_request(reader) is not None:
            await turns[order - 1].wait()  # answers one at a time, when the test says
            writer.write(reply())
            await writer.drain()
            if order < 3:
                return  # closes, as on the server's keep-alive timeout

    async with serving(first_two_close) as server:
        pool = pool_for(server)
        sends = asyncio.gather(*(pool.send("GET", server.url, [], None, TIMEOUTS) for _ in range(3)))
        await eventually(lambda: len(server.requests) == 3, "three requests on three connections")

        def answered_and_closed(still_open: int) -> bool:
            """Back in the pool, then closed by the server: the next one put back must drop it."""
            return pool.connections == still_open and len(pool._idle) == 1 and not pool._idle[0].usable()

        for turn, still_open in zip(turns[:2], (3, 2), strict=True):
            turn.set()
            await eventually(
                lambda: answered_and_closed(still_open),  # noqa: B023 (awaited within this iteration)
                f"the answered connection idle and its FIN seen, {still_open} open",
            )
        turns[2].set()
        await sends
        # Each was closed by the server before the next came back: putting that one back dropped it.
        assert server.accepted == 3
        assert pool.connections == 1
        await pool.aclose()


async def test_a_callers_accept_encoding_is_replaced_by_the_pools_own() -> None:
    async with serving() as server:
        pool = pool_for(server)
        await pool.send("GET", server.url, [("Accept-Encoding", "br")], None, TIMEOUTS)
        assert b"Accept-Encoding: br" not in server.requests[0]
        assert b"Accept-Encoding: gzip, deflate\r\n" in server.requests[0]
        await pool.aclose()
