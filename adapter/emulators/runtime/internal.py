"""In-process connections: a party inside the emulator (the built-in interop broker) speaking ordinary frames.

See the contract in ``adapter.emulators.runtime.runtime``'s module docstring.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from adapter.emulators.runtime.client_link import ClientLink
from adapter.emulators.runtime.errors import RuntimeRequestError
from adapter.emulators.runtime.frames import Frame

DEFAULT_REQUEST_TIMEOUT = 30.0


class InternalSink:
    """Resolves replies to pending requests; queues every other frame as a push."""

    def __init__(self) -> None:
        self.pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self.pushes: asyncio.Queue[Frame | None] = asyncio.Queue()

    def send(self, frame: Frame) -> None:
        """Route one frame from the runtime: a reply settles its request, anything else is a push."""
        correlation = frame.get("correlationId")
        if isinstance(correlation, int):
            entry = self.pending.pop(correlation, None)
            if entry is not None and not entry[1].done():
                action, future = entry
                body = frame.get("payload") or {}
                if body.get("success"):
                    future.set_result(body.get("data"))
                else:
                    future.set_exception(
                        RuntimeRequestError(action, str(body.get("reason", "")), body.get("error"))
                    )
            return
        self.pushes.put_nowait(frame)

    def expire(self, message_ids: list[int]) -> None:
        """Fail the requests among ``message_ids`` still without a reply with ``TimeoutError``."""
        for message_id in message_ids:
            entry = self.pending.pop(message_id, None)
            if entry is not None and not entry[1].done():
                entry[1].set_exception(TimeoutError())

    def close(self) -> None:
        """End the push stream and fail every pending request."""
        for action, future in self.pending.values():
            if not future.done():
                future.set_exception(RuntimeRequestError(action, "Remote connection has closed"))
        self.pending.clear()
        self.pushes.put_nowait(None)


class InternalConnection:
    """An authorized connection living inside the emulator; see the runtime module docstring."""

    def __init__(
        self,
        connection: ClientLink,
        sink: InternalSink,
        deliver: Callable[[ClientLink, Frame], None],
        close: Callable[[ClientLink], None],
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
        [reply] = self.send_requests([(action, payload)], timeout=timeout)
        return await reply

    def send_requests(
        self,
        requests: Iterable[tuple[str, dict[str, Any] | None]],
        *,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> list[asyncio.Future[Any]]:
        """Send several requests now, in order; one future each, settled as `request` would return or raise.

        One timer bounds them all (``TimeoutError`` after ``timeout`` seconds), and no task is made per
        request: the broker dispatches a context to every handler this way.
        """
        loop = asyncio.get_running_loop()
        replies: list[asyncio.Future[Any]] = []
        sent: list[tuple[int, asyncio.Future[Any]]] = []
        for action, payload in requests:
            reply: asyncio.Future[Any] = loop.create_future()
            replies.append(reply)
            if self.closed:
                reply.set_exception(RuntimeRequestError(action, "Remote connection has closed"))
                continue
            message_id = next(self._ids)
            sent.append((message_id, reply))
            self._sink.pending[message_id] = (action, reply)
            self._deliver(
                self._connection, {"action": action, "payload": payload or {}, "messageId": message_id}
            )
        if sent:
            timer = loop.call_later(timeout, self._sink.expire, [message_id for message_id, _ in sent])
            self._bound(timer, sent)
        return replies

    def _bound(self, timer: asyncio.TimerHandle, sent: list[tuple[int, asyncio.Future[Any]]]) -> None:
        """Cancel ``timer`` once every reply has settled, and forget a request whose caller gave up on it."""
        remaining = len(sent)

        def settled_for(message_id: int) -> Callable[[asyncio.Future[Any]], None]:
            def settled(_reply: asyncio.Future[Any]) -> None:
                nonlocal remaining
                self._sink.pending.pop(message_id, None)
                remaining -= 1
                if remaining == 0:
                    timer.cancel()

            return settled

        for message_id, reply in sent:
            reply.add_done_callback(settled_for(message_id))

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
