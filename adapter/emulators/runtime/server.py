"""The runtime emulator on a websocket: ``servicenow-adapter emulate runtime``.

Only I/O lives here: each socket's text frames go to ``Runtime.receive`` and the runtime's frames are
written to their socket as the runtime sends them, in order. Plain HTTP requests get 403, as from the runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any

import structlog
from websockets.asyncio.server import Server, ServerConnection, broadcast
from websockets.asyncio.server import serve as websocket_serve
from websockets.datastructures import Headers
from websockets.frames import CloseCode, Opcode
from websockets.frames import Frame as WebSocketFrame
from websockets.http11 import Request, Response

from adapter import jsoncodec
from adapter.emulators.runtime.errors import ActionRefusedError
from adapter.emulators.runtime.frames import Frame
from adapter.emulators.runtime.runtime import Runtime, RuntimeSettings
from adapter.lifecycle import StartupError, announce_ready

if TYPE_CHECKING:  # the broker module itself is loaded only for --broker (see _start_broker)
    from adapter.emulators.runtime.broker import Broker

log = structlog.get_logger(__name__)

MAX_FRAME_BYTES = 16 * 1024 * 1024
CLOSE_TIMEOUT = 5.0


class _SocketSink:
    """The runtime's outgoing frames for one socket, written at once and so in order.

    A frame goes straight into the socket's write buffer (websockets' ``broadcast`` to one socket): no queue,
    no writer task, no task switch per frame. Like the unbounded queue this replaces, it applies no
    backpressure to the runtime. ``close`` starts the closing handshake after every frame sent so far.
    """

    def __init__(self, websocket: ServerConnection) -> None:
        self._websocket = (websocket,)
        self.closing: asyncio.Task[None] | None = None

    def send(self, frame: Frame) -> None:
        if self.closing is None:
            broadcast(self._websocket, jsoncodec.dumps(frame))

    def close(self) -> None:
        if self.closing is None:
            self.closing = asyncio.get_running_loop().create_task(self._websocket[0].close())


Deliver = Callable[[str | bytes], None]


class _RuntimeSocket(ServerConnection):
    """A server socket that hands each whole message to the runtime as soon as websockets has parsed it.

    The stock path queues every message for ``recv()`` and wakes the session task once per message; the
    runtime answers synchronously, so it is called from the parser instead, by overriding websockets'
    ``Connection.process_event`` (its asyncio implementation's per-event step, not a documented hook: the
    websockets<18 bound and tests/unit/runtime_emulator/test_websocket.py hold it). Fragmented messages are
    reassembled and text is decoded as ``recv()`` does (invalid UTF-8 fails the socket with 1007); control
    frames and the handshake stay with websockets.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deliver: Deliver | None = None
        self._early: list[str | bytes] = []
        self._fragments: list[WebSocketFrame] = []

    def start_delivery(self, deliver: Deliver) -> None:
        """Hand every message to ``deliver`` from now on, first those that came before the session started."""
        early, self._early = self._early, []
        self._deliver = deliver
        for message in early:
            deliver(message)

    def process_event(self, event: Any) -> None:
        if self.request is None or not isinstance(event, WebSocketFrame) or event.opcode not in _DATA:
            super().process_event(event)
            return
        if self._fragments or not event.fin:
            self._fragments.append(event)
            if not event.fin:
                return
            frames, self._fragments = self._fragments, []
            data, is_text = b"".join(f.data for f in frames), frames[0].opcode is Opcode.TEXT
        else:
            data, is_text = bytes(event.data), event.opcode is Opcode.TEXT
        message: str | bytes = data
        if is_text:
            try:
                message = data.decode()
            except UnicodeDecodeError as exc:
                self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                self.send_data()
                return
        if self._deliver is None:
            self._early.append(message)
        else:
            self._deliver(message)


_DATA = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})


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
            create_connection=_RuntimeSocket,
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
        assert isinstance(websocket, _RuntimeSocket)
        sink = _SocketSink(websocket)
        connection = self.runtime.connect(sink)

        def deliver(message: str | bytes) -> None:
            if connection.closed:
                return
            try:
                self.runtime.receive(connection, message)
            except Exception:
                # A bug, not bad input (that is refused): this socket ends as its session did, the rest lives.
                log.exception("connection.crashed", connection=connection.id)
                self.runtime.disconnect(connection)

        try:
            websocket.start_delivery(deliver)
            await websocket.wait_closed()
        finally:
            self.runtime.disconnect(connection)
            if sink.closing is not None:
                try:
                    await asyncio.wait_for(sink.closing, CLOSE_TIMEOUT)
                except TimeoutError:
                    log.warning("connection.close_stuck", connection=connection.id)


def _refuse_plain_http(connection: ServerConnection, request: Request) -> Response | None:
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return None
    response = connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
    response.headers = Headers({**dict(response.headers.raw_items()), "Content-Type": "text/plain"})
    return response


async def _start_broker(runtime: Runtime, platform_uuid: str) -> Broker:
    # Imported here so that a runtime without --broker never loads the broker.
    from adapter.emulators.runtime.broker import start_broker

    broker = start_broker(runtime, platform_uuid)
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
        await runtime.aclose()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    started: Broker | None = None
    try:
        if broker is not None:
            try:
                started = await _start_broker(runtime, broker)
            except (TimeoutError, ActionRefusedError) as exc:
                reason = str(exc) or type(exc).__name__
                raise StartupError(f"the interop broker for {broker!r} did not start: {reason}") from None
        announce_ready(server.url)
        await stop.wait()
    finally:
        if started is not None:
            with contextlib.suppress(Exception):
                await started.aclose()
        await server.aclose()
    log.info("runtime.stopped")
    return 0
