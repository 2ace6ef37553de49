"""The runtime emulator on a websocket: ``servicenow-adapter emulate runtime``.

Only I/O lives here: each socket's text frames go to ``Runtime.receive`` and the runtime's frames come back
through a per-socket queue, written in order. Plain HTTP requests get 403, as from the runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from http import HTTPStatus
from types import TracebackType
from typing import Protocol

import structlog
from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as websocket_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from adapter.emulators.runtime.errors import ActionError
from adapter.emulators.runtime.frames import Frame
from adapter.emulators.runtime.runtime import Runtime, RuntimeSettings
from adapter.lifecycle import announce_ready

log = structlog.get_logger(__name__)

MAX_FRAME_BYTES = 16 * 1024 * 1024
WRITER_DRAIN_TIMEOUT = 5.0


class Broker(Protocol):
    """What ``broker.start_broker(runtime, platform_uuid)`` returns."""

    async def wait_ready(self, timeout: float = ...) -> None:  # noqa: ASYNC109 (the broker's contract)
        """Return once the broker channel exists."""

    async def aclose(self) -> None:
        """Stop the broker and leave the runtime."""


class _QueueSink:
    """The runtime's outgoing frames for one socket, in order; ``None`` asks the writer to close."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Frame | None] = asyncio.Queue()

    def send(self, frame: Frame) -> None:
        self.queue.put_nowait(frame)

    def close(self) -> None:
        self.queue.put_nowait(None)


class RuntimeServer:
    """A ``Runtime`` served on ``ws://host:port`` (``port=0`` picks a free one); an async context manager.

    In-process use by tests: ``async with RuntimeServer(Runtime(...), port=0) as server: server.url``.
    """

    def __init__(self, runtime: Runtime, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.runtime = runtime
        self.host = host
        self.port = port
        self._server: Server | None = None

    @property
    def url(self) -> str:
        """The address clients connect to."""
        return f"ws://{self.host}:{self.port}"

    async def __aenter__(self) -> RuntimeServer:
        await self.start()
        return self

    async def start(self) -> None:
        """Bind and start accepting sockets; raises ``OSError`` when the address is unusable."""
        self._server = await websocket_serve(
            self._session,
            self.host,
            self.port,
            process_request=_refuse_plain_http,
            max_size=MAX_FRAME_BYTES,
            compression=None,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self.runtime.port = self.port
        log.info("runtime.listening", url=self.url)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every socket, then free the runtime (child processes, windows, token files)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.runtime.aclose()

    async def _session(self, websocket: ServerConnection) -> None:
        sink = _QueueSink()
        connection = self.runtime.connect(sink)
        writer = asyncio.create_task(_write(websocket, sink))
        try:
            async for message in websocket:
                self.runtime.receive(connection, message)
                if connection.closed:
                    break
        except ConnectionClosed:
            pass
        finally:
            self.runtime.disconnect(connection)
            try:
                await asyncio.wait_for(writer, WRITER_DRAIN_TIMEOUT)
            except TimeoutError:
                log.warning("connection.writer_stuck", connection=connection.id)


async def _write(websocket: ServerConnection, sink: _QueueSink) -> None:
    while True:
        frame = await sink.queue.get()
        try:
            if frame is None:
                await websocket.close()
                return
            await websocket.send(json.dumps(frame, separators=(",", ":")))
        except ConnectionClosed:
            return


def _refuse_plain_http(connection: ServerConnection, request: Request) -> Response | None:
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return None
    response = connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
    response.headers = Headers({**dict(response.headers.raw_items()), "Content-Type": "text/plain"})
    return response


async def _start_broker(runtime: Runtime, platform_uuid: str) -> Broker:
    # Imported here so that a runtime without --broker never loads the broker.
    from adapter.emulators.runtime.broker import start_broker

    broker: Broker = start_broker(runtime, platform_uuid)
    await broker.wait_ready()
    return broker


async def serve(
    stop: asyncio.Event,
    *,
    host: str,
    port: int,
    broker: str | None,
    assets: dict[str, str],
    settings: RuntimeSettings | None = None,
) -> int:
    """Serve until ``stop`` is set; prints ``READY ws://127.0.0.1:<port>`` once listening. Returns 0.

    ``broker`` starts the built-in interop broker as channel ``interop-broker-<broker>`` (READY comes once
    that channel exists); ``assets`` maps app asset aliases to local commands for
    ``launch-external-process``; ``settings`` default to the environment (``RUNTIME_EMULATOR_*``, see
    ``RuntimeSettings``).
    """
    runtime = Runtime(settings or RuntimeSettings(), assets=assets)
    server = RuntimeServer(runtime, host=host, port=port)
    try:
        await server.start()
    except OSError as exc:
        log.error("runtime.bind_failed", host=host, port=port, error=str(exc))
        await runtime.aclose()
        return 1
    started: Broker | None = None
    try:
        if broker is not None:
            try:
                started = await _start_broker(runtime, broker)
            except (TimeoutError, ActionError) as exc:
                log.error("broker.start_failed", platform=broker, error=str(exc) or type(exc).__name__)
                return 1
        announce_ready(server.url)
        await stop.wait()
    finally:
        if started is not None:
            with contextlib.suppress(Exception):
                await started.aclose()
        await server.aclose()
    log.info("runtime.stopped")
    return 0
