"""A ServiceNow instance scripted at the socket: it signs in like one (token endpoint, current user) and
answers every other request with whatever bytes a test's handler writes, as slowly or endlessly as it likes.

Used to drive a real ``Connection`` over the real pool (``Http1Pool``) into the answers a hostile or broken
instance, or a network that cuts answers into pieces, can produce.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from adapter.servicenow.connection import Connection, ConnectionOptions
from adapter.servicenow.http1 import Http1Pool, Http1Transport, PoolLimits
from adapter.servicenow.validation import parse_instance_url
from tests.unit.servicenow.fakes import USER, ApprovingAuthorizer


@dataclass
class Request:
    """One request as the instance read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def response(status: int, body: bytes = b"", *, headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 response with a Content-Length."""
    lines = [f"HTTP/1.1 {status} Status", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_response(status: int, payload: object) -> bytes:
    """A JSON answer."""
    return response(status, json.dumps(payload).encode(), headers={"Content-Type": "application/json"})


@dataclass
class ScriptedInstance:
    """Serves sign-in itself and hands every other request to ``handler``."""

    handler: Handler
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    tls: ssl.SSLContext | None = None

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def api_requests(self) -> list[Request]:
        """Requests other than sign-in's."""
        return [r for r in self.requests if not r.target.startswith(("/oauth_", "/api/now/table/sys_user"))]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                if request.target.startswith("/oauth_token.do"):
                    writer.write(
                        json_response(
                            200,
                            {
                                "access_token": "scripted-access-token",
                                "refresh_token": "scripted-refresh-token",
                                "expires_in": 1800,
                                "token_type": "Bearer",
                            },
                        )
                    )
                elif request.target.startswith("/oauth_revoke_token.do"):
                    writer.write(response(200))
                elif request.target.startswith("/api/now/table/sys_user"):
                    writer.write(json_response(200, {"result": [USER]}))
                else:
                    await self.handler(request, reader, writer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One request (head and Content-Length body), or None at the end of the stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    first, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = first.split(" ", 2)
    headers = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Request(method, target, headers, body)


@asynccontextmanager
async def scripted_instance(
    handler: Handler, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[ScriptedInstance]:
    """A ``ScriptedInstance`` listening on a free loopback port (TLS with ``tls``)."""
    instance = ScriptedInstance(handler, tls=tls)
    server = await asyncio.start_server(instance.serve, "127.0.0.1", 0, ssl=tls, limit=1 << 20)
    instance.port = server.sockets[0].getsockname()[1]
    try:
        yield instance
    finally:
        server.close()
        await server.wait_closed()


async def connected(
    instance: ScriptedInstance,
    *,
    options: ConnectionOptions | None = None,
    limits: PoolLimits | None = None,
    client_tls: ssl.SSLContext | None = None,
) -> Connection:
    """A connection signed in to ``instance`` through a real ``Http1Pool``."""
    pool = Http1Pool(
        instance.origin,
        limits=limits or PoolLimits(),
        ssl_context=client_tls or ssl.create_default_context(),
    )
    connection = Connection(
        address=parse_instance_url(instance.origin),
        instance_url=instance.origin,
        client_id="scripted",
        scope=(),
        transport=Http1Transport(pool),
        options=options or ConnectionOptions(),
    )
    await connection.login(ApprovingAuthorizer())
    return connection
