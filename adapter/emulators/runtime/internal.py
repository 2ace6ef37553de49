"""In-process connections: a party inside the emulator (the built-in interop broker) speaking ordinary frames.

See the contract in ``adapter.emulators.runtime.runtime``'s module docstring.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

from adapter.emulators.runtime.connection import Connection
from adapter.emulators.runtime.errors import RuntimeRequestError
from adapter.emulators.runtime.frames import Frame

DEFAULT_REQUEST_TIMEOUT = 30.0


class InternalSink:
    """Resolves replies to pending requests; queues every other frame as a push."""

    def __init__(self) -> None:
        self.pending: dict[int, asyncio.Future[Frame]] = {}
        self.pushes: asyncio.Queue[Frame | None] = asyncio.Queue()

    def send(self, frame: Frame) -> None:
        """Route one frame from the runtime."""
        correlation = frame.get("correlationId")
        if isinstance(correlation, int):
            future = self.pending.pop(correlation, None)
            if future is not None and not future.done():
                future.set_result(frame)
            return
        self.pushes.put_nowait(frame)

    def close(self) -> None:
        """End the push stream and fail every pending request."""
        for future in self.pending.values():
            if not future.done():
                future.set_exception(RuntimeRequestError("", "Remote connection has closed"))
        self.pending.clear()
        self.pushes.put_nowait(None)


class InternalConnection:
    """An authorized connection living inside the emulator; see the runtime module docstring."""

    def __init__(
        self,
        connection: Connection,
        sink: InternalSink,
        deliver: Callable[[Connection, Frame], None],
        close: Callable[[Connection], None],
    ) -> None:
        self._connection = connection
        self._sink = sink
        self._deliver = deliver
        self._close = close
        self._ids = itertools.count(1)

    @property
    def identity(self) -> dict[str, Any]:
        """``{uuid, name}`` of this party (``name == uuid``)."""
        return self._connection.identity

    @property
    def closed(self) -> bool:
        """True once ``aclose`` ran or the runtime shut down."""
        return self._connection.closed

    async def request(
        self,
        action: str,
        payload: dict[str, Any] | None = None,
        *,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,  # noqa: ASYNC109 (the contract)
    ) -> Any:
        """Send ``{action, payload, messageId}``; return the ack's ``payload.data`` (``None`` if void).

        Raises ``RuntimeRequestError`` on a failure ack (``reason``, ``error``), ``TimeoutError`` when no
        reply comes within ``timeout`` seconds.
        """
        if self.closed:
            raise RuntimeRequestError(action, "Remote connection has closed")
        message_id = next(self._ids)
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._sink.pending[message_id] = future
        self._deliver(self._connection, {"action": action, "payload": payload or {}, "messageId": message_id})
        try:
            reply = await asyncio.wait_for(future, timeout)
        except RuntimeRequestError as exc:
            raise RuntimeRequestError(action, exc.reason) from None
        finally:
            self._sink.pending.pop(message_id, None)
        body = reply.get("payload") or {}
        if not body.get("success"):
            raise RuntimeRequestError(action, str(body.get("reason", "")), body.get("error"))
        return body.get("data")

    async def send_raw(self, frame: Frame) -> None:
        """Send a frame that expects no reply, e.g. an echoed ``ackToSender`` (``send-channel-result``)."""
        if not self.closed:
            self._deliver(self._connection, frame)

    async def pushes(self) -> AsyncIterator[Frame]:
        """Every uncorrelated frame the runtime sends here, in order; ends when the connection closes."""
        while True:
            frame = await self._sink.pushes.get()
            if frame is None:
                return
            yield frame

    async def aclose(self) -> None:
        """Leave the runtime: its channels are destroyed and its subscriptions dropped, as for a socket."""
        if not self.closed:
            self._close(self._connection)
