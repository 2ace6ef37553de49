"""The ``browser`` authorizer: the system browser and a loopback redirect listener (RFC 8252).

The user signs in in their own browser; the instance redirects to ``http://127.0.0.1:<port><path>``, where a
one-shot listener reads the code. ServiceNow only redirects to registered URLs (an unknown redirect_uri is
replaced by the first registered one), so the app registry entry must list this loopback URL, with its
fixed port: configure ``port`` to match (0 picks a free port, only useful where any port is accepted).
"""

from __future__ import annotations

import asyncio
import webbrowser
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import httpx
import structlog

from adapter.servicenow.authorizers.base import (
    DEFAULT_TIMEOUT,
    NOT_COMPLETED,
    TIMED_OUT,
    AuthorizationAttempt,
    code_from_redirect,
)
from adapter.servicenow.errors import AuthorizationError

log = structlog.get_logger(__name__)

DEFAULT_PATH = "/oauth/callback"
MAX_REQUEST_HEAD = 16_384
HEAD_TIMEOUT = 10.0
_PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>ServiceNow sign-in</title></head>"
    b"<body><p>Sign-in finished. You can close this tab and return to your apps.</p></body></html>"
)


def request_target(head: bytes) -> tuple[str, str] | None:
    """The method and target of an HTTP/1.x request head, or None when it is not one."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        return None
    return parts[0], parts[1]


class BrowserAuthorizer:
    """Opens the authorize URL with ``open_url`` (default: ``webbrowser.open``) and listens on loopback."""

    def __init__(
        self,
        *,
        open_url: Callable[[str], bool] = webbrowser.open,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = DEFAULT_PATH,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._open_url = open_url
        self._host = host
        self._port = port
        self._path = path
        self._timeout = timeout

    @asynccontextmanager
    async def attempt(
        self, instance_redirect_uri: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[AuthorizationAttempt]:
        """Listen on loopback for the duration of the attempt; the instance redirect URI is not used."""
        arrived: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                async with asyncio.timeout(HEAD_TIMEOUT):
                    head = await reader.readuntil(b"\r\n\r\n")
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                writer.close()
                return
            target = request_target(head)
            found = target is not None and target[0] == "GET" and target[1].split("?", 1)[0] == self._path
            if found and target is not None and not arrived.done():
                arrived.set_result(redirect_uri + target[1][len(self._path) :])
            status = b"200 OK" if found else b"404 Not Found"
            body = _PAGE if found else b"Not found"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Cache-Control: no-store\r\nConnection: close\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            with suppress(ConnectionError):
                await writer.drain()
            writer.close()

        try:
            server = await asyncio.start_server(serve, self._host, self._port, limit=MAX_REQUEST_HEAD)
        except OSError as error:
            # The app is told what is wrong in words, not handed a bare socket error.
            raise AuthorizationError(
                NOT_COMPLETED,
                detail=f"the sign-in redirect port {self._host}:{self._port} is not free ({error.strerror})",
            ) from None
        port = server.sockets[0].getsockname()[1]
        shown_host = f"[{self._host}]" if ":" in self._host else self._host
        redirect_uri = f"http://{shown_host}:{port}{self._path}"
        try:
            yield _BrowserAttempt(redirect_uri, arrived, self._open_url, self._timeout)
        finally:
            server.close()
            await server.wait_closed()


class _BrowserAttempt:
    def __init__(
        self,
        redirect_uri: str,
        arrived: asyncio.Future[str],
        open_url: Callable[[str], bool],
        timeout: float,
    ) -> None:
        self._redirect_uri = redirect_uri
        self._arrived = arrived
        self._open_url = open_url
        self._timeout = timeout

    @property
    def redirect_uri(self) -> str:
        return self._redirect_uri

    async def complete(self, authorize_url: str, state: str) -> str:
        # webbrowser.open may block while it starts a browser process.
        opened = await asyncio.to_thread(self._open_url, authorize_url)
        if not opened:
            raise AuthorizationError(NOT_COMPLETED, detail="no browser could be opened")
        log.info("oauth.browser_opened", redirect_uri=self._redirect_uri)
        try:
            async with asyncio.timeout(self._timeout):
                url = await asyncio.shield(self._arrived)
        except TimeoutError:
            raise AuthorizationError(TIMED_OUT) from None
        return code_from_redirect(url, state)
