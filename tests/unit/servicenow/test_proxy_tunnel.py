"""The pool through a scripted proxy on loopback: what the proxy and the instance each get to see.

For https the proxy gets one ``CONNECT host:port`` with the proxy credentials and then only TLS bytes; the
instance gets the request without them. For plain http the proxy gets the request itself, in absolute
form, with the credentials. A refusing proxy is a named ``httpx.ProxyError``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from adapter.emulators.servicenow.tls import make_certificates
from adapter.servicenow.http1 import Http1Pool, PoolLimits
from adapter.servicenow.proxy import parse_proxy_url
from tests.support.scripted_instance import Request, json_response, scripted_instance

TIMEOUTS = httpx.Timeout(5.0)
PROXY_CREDENTIALS = "alice:s3cret"
AUTHORIZATION = "Basic " + base64.b64encode(PROXY_CREDENTIALS.encode()).decode()


@dataclass
class ScriptedProxy:
    """Relays CONNECT tunnels to loopback (or refuses them with ``refuse``); answers plain requests itself."""

    refuse: int | None = None
    heads: list[str] = field(default_factory=list)
    port: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        self.heads.append(head)
        method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
        if method != "CONNECT":  # a forwarded plain-http request: answer it as the instance would
            writer.write(json_response(200, {"result": {"via": "proxy"}}))
            await writer.drain()
            writer.close()
            return
        if self.refuse is not None:
            writer.write(f"HTTP/1.1 {self.refuse} Refused\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            writer.close()
            return
        host, port = target.rsplit(":", 1)
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def scripted_proxy(refuse: int | None = None) -> AsyncIterator[ScriptedProxy]:
    proxy = ScriptedProxy(refuse=refuse)
    server = await asyncio.start_server(proxy.serve, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()


async def answer(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(
        json_response(200, {"result": {"proxy_authorization": request.headers.get("proxy-authorization")}})
    )


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for ``localhost``."""
    files = make_certificates(tmp_path, tmp_path / "ca.pem")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(files.cert, files.key)
    return server, ssl.create_default_context(cafile=str(files.ca))


async def test_https_goes_through_a_connect_tunnel_and_the_credentials_stay_with_the_proxy(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_tls, client_tls = tls
    async with scripted_instance(answer, tls=server_tls) as instance, scripted_proxy() as proxy:
        origin = f"https://localhost:{instance.port}"
        pool = Http1Pool(
            origin,
            limits=PoolLimits(),
            ssl_context=client_tls,
            proxy=parse_proxy_url(f"http://{PROXY_CREDENTIALS}@127.0.0.1:{proxy.port}"),
        )
        for _ in range(2):  # the tunnel is kept alive like any connection
            got = await pool.send("GET", httpx.URL(f"{origin}/api/now/x"), [], None, TIMEOUTS)
            assert got.status_code == 200
            assert got.content == b'{"result": {"proxy_authorization": null}}'
        await pool.aclose()
    (head,) = proxy.heads
    assert head.startswith(f"CONNECT localhost:{instance.port} HTTP/1.1\r\n")
    assert f"Proxy-Authorization: {AUTHORIZATION}\r\n" in head
    assert "/api/now/x" not in head


async def test_plain_http_is_forwarded_in_absolute_form_with_the_credentials() -> None:
    async with scripted_proxy() as proxy:
        origin = "http://acme.example:8080"
        pool = Http1Pool(
            origin,
            ssl_context=ssl.create_default_context(),
            proxy=parse_proxy_url(f"http://{PROXY_CREDENTIALS}@127.0.0.1:{proxy.port}"),
        )
        got = await pool.send("GET", httpx.URL(f"{origin}/api/now/x?y=1"), [], None, TIMEOUTS)
        await pool.aclose()
    assert got.status_code == 200
    (head,) = proxy.heads
    assert head.startswith("GET http://acme.example:8080/api/now/x?y=1 HTTP/1.1\r\n")
    assert f"Proxy-Authorization: {AUTHORIZATION}\r\n" in head
    assert "Host: acme.example:8080\r\n" in head


@pytest.mark.parametrize(("status", "hint"), [(407, "proxy credentials"), (403, "403")])
async def test_a_refused_tunnel_is_a_proxy_error_naming_the_proxy(status: int, hint: str) -> None:
    async with scripted_proxy(refuse=status) as proxy:
        pool = Http1Pool(
            "https://acme.example",
            ssl_context=ssl.create_default_context(),
            proxy=parse_proxy_url(f"http://{PROXY_CREDENTIALS}@127.0.0.1:{proxy.port}"),
        )
        with pytest.raises(
            httpx.ProxyError, match=f"The proxy http://127.0.0.1:{proxy.port} refused"
        ) as refused:
            await pool.send("GET", httpx.URL("https://acme.example/api/now/x"), [], None, TIMEOUTS)
        assert hint in str(refused.value)
        assert "s3cret" not in str(refused.value)
        assert pool.connections == 0
        await pool.aclose()
