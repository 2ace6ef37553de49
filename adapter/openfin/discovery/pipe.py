"""The discovery pipe: where the runtime reports its port.

Windows: the named pipe ``\\\\.\\pipe\\chrome.<name>`` (Chromium prefixes ``chrome.`` to the channel name),
served by asyncio's proactor loop; the channel given to the runtime is ``<name>``. POSIX: a unix socket
``<tempdir>/<name>.sock``, and, as node-adapter does, the channel given to the runtime is that socket's path.
Each connection runs a ``DiscoveryExchange``; the first accepted answer (or the first failure) settles
``DiscoveryPipe.answer``. Leaving the ``async with`` block closes the server and removes the socket file.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Protocol

import structlog

from adapter.openfin.discovery.errors import PortDiscoveryError
from adapter.openfin.discovery.protocol import (
    DiscoveryExchange,
    DiscoveryRequest,
    HeaderLayout,
    RuntimeInformation,
)

log = structlog.get_logger(__name__)

_READ_SIZE = 4096


class _Closable(Protocol):
    def close(self) -> None: ...


def new_channel_name() -> str:
    """A fresh channel name; short, because a unix socket path is limited to about 104 bytes on macOS."""
    return f"ServiceNowAdapter.{secrets.token_hex(8)}"


class DiscoveryPipe:
    """Listens for the runtime's report on a fresh pipe; ``channel`` is what the runtime must be told."""

    def __init__(self, request: DiscoveryRequest, *, name: str | None = None) -> None:
        self.request = request
        self.name = name or new_channel_name()
        self.layout = HeaderLayout.for_platform()
        self.answer: asyncio.Future[RuntimeInformation] | None = None
        self._close: list[_Closable] = []
        self._socket_path: Path | None = None
        self._connections: set[asyncio.Task[None]] = set()
        if sys.platform == "win32":
            self.address = rf"\\.\pipe\chrome.{self.name}"
            self.channel = self.name
        else:
            self._socket_path = Path(tempfile.gettempdir()) / f"{self.name}.sock"
            self.address = str(self._socket_path)
            self.channel = self.address

    async def __aenter__(self) -> DiscoveryPipe:
        self.answer = asyncio.get_running_loop().create_future()
        await self._listen()
        log.debug("discovery.listening", address=self.address)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop listening, drop open connections and remove the socket file."""
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in self._close:
            server.close()
        if self._socket_path is not None:
            self._socket_path.unlink(missing_ok=True)
        if self.answer is not None and not self.answer.done():
            self.answer.cancel()

    if sys.platform == "win32":

        async def _listen(self) -> None:
            loop = asyncio.get_running_loop()
            serve_pipe = getattr(loop, "start_serving_pipe", None)
            if serve_pipe is None:
                raise PortDiscoveryError("named pipes need asyncio's proactor event loop")

            def protocol() -> asyncio.StreamReaderProtocol:
                reader = asyncio.StreamReader()
                return asyncio.StreamReaderProtocol(reader, self._serve)

            try:
                self._close.extend(await serve_pipe(protocol, self.address))
            except OSError as error:
                raise PortDiscoveryError(f"cannot create the named pipe {self.address}: {error}") from error

    else:

        async def _listen(self) -> None:
            assert self._socket_path is not None
            try:
                server = await asyncio.start_unix_server(self._serve, path=self.address)
                # Only this user may report a port: the runtime the RVM starts runs as the same user.
                self._socket_path.chmod(0o600)
            except OSError as error:
                raise PortDiscoveryError(f"cannot listen on {self.address}: {error}") from error
            self._close.append(server)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        exchange = DiscoveryExchange(self.request, self.layout)
        try:
            while exchange.result is None:
                data = await reader.read(_READ_SIZE)
                if not data:
                    log.debug("discovery.peer_closed", address=self.address)
                    return
                reply = exchange.receive(data)
                if reply:
                    writer.write(reply)
                    await writer.drain()
            self._settle(exchange.result, None)
        except PortDiscoveryError as error:
            self._settle(None, error)
        except OSError as error:
            log.debug("discovery.peer_failed", address=self.address, error=str(error))
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _settle(self, info: RuntimeInformation | None, error: PortDiscoveryError | None) -> None:
        if self.answer is None or self.answer.done():
            return
        if error is not None:
            self.answer.set_exception(error)
        elif info is not None:
            self.answer.set_result(info)
