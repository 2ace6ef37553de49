"""Request/response correlation: one future per outgoing request, keyed by its ``messageId``.

Ids start at 1 (node-adapter's lookup can never match a reply to id 0). The reader resolves futures with
``resolve``; ``wait`` owns the timeout, because a runtime may never answer; ``fail_all`` fails every pending
request when the socket closes. No I/O here: the connection sends the frame for the id ``open`` returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapter.openfin.errors import ConnectionLostError, RequestTimeoutError, RuntimeRequestError
from adapter.openfin.frames import AckFrame


@dataclass
class _Pending:
    action: str
    future: asyncio.Future[Any]


class Correlator:
    """Numbers requests and matches replies to them."""

    def __init__(self) -> None:
        self._next_id = 1
        self._pending: dict[int, _Pending] = {}

    @property
    def pending(self) -> int:
        """How many requests are waiting for a reply."""
        return len(self._pending)

    def next_id(self) -> int:
        """A fresh message id, for frames whose reply is not correlated (the handshake)."""
        message_id = self._next_id
        self._next_id += 1
        return message_id

    def open(self, action: str) -> int:
        """Register a request of ``action``; return the ``messageId`` its frame carries. Needs a running
        event loop."""
        message_id = self.next_id()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = _Pending(action, future)
        return message_id

    async def wait(self, message_id: int, timeout: float) -> Any:  # noqa: ASYNC109 (every request owns its deadline)
        """The ``data`` of the reply to ``message_id``.

        Raises ``RuntimeRequestError`` for a failure ack, ``RequestTimeoutError`` when no reply came within
        ``timeout`` seconds (the request is then forgotten; a late reply is ignored), or whatever
        ``fail_all`` set.
        """
        pending = self._pending.get(message_id)
        if pending is None:
            raise KeyError(message_id)
        # A timer that fails the future, rather than ``asyncio.timeout``, which cancels and uncancels the
        # waiting task: a publish to a hundred apps waits on a hundred of these at once.
        timer = asyncio.get_running_loop().call_later(timeout, self._expire, pending, timeout)
        try:
            return await pending.future
        finally:
            timer.cancel()
            self._pending.pop(message_id, None)

    async def wait_all(self, message_ids: Sequence[int], timeout: float) -> list[Any]:  # noqa: ASYNC109
        """``wait`` for several requests under one deadline: for each id in order, the reply's ``data`` or
        the exception the request failed with (returned, not raised). One timer for all of them, and no
        task per request. An id no longer pending was failed and forgotten by ``fail_all`` while the
        others were being sent: ``ConnectionLostError``.
        """
        pendings = [self._pending.get(message_id) for message_id in message_ids]
        timer = asyncio.get_running_loop().call_later(timeout, self._expire_all, pendings, timeout)
        outcomes: list[Any] = []
        try:
            for pending in pendings:
                if pending is None:
                    outcomes.append(ConnectionLostError())
                    continue
                try:
                    outcomes.append(await pending.future)
                except Exception as exc:
                    outcomes.append(exc)
        finally:
            timer.cancel()
            for message_id, pending in zip(message_ids, pendings, strict=True):
                self._pending.pop(message_id, None)
                if pending is None:
                    continue
                if not pending.future.done():
                    pending.future.cancel()
                elif not pending.future.cancelled():
                    pending.future.exception()  # left unread only when the wait itself was cancelled
        return outcomes

    def on_reply(self, message_id: int, callback: Callable[[Any], object]) -> None:
        """Call ``callback`` with the reply's ``data``, or with the exception the request failed with, once it
        settles (a request ``discard``-ed while pending: ``ConnectionLostError``); it is forgotten then. For
        requests nobody awaits, e.g. one event sent to each of a thousand clients."""
        pending = self._pending[message_id]

        def settled(future: asyncio.Future[Any]) -> None:
            if self._pending.get(message_id) is pending:
                del self._pending[message_id]
            if future.cancelled():
                callback(ConnectionLostError())
            else:
                error = future.exception()
                callback(future.result() if error is None else error)

        pending.future.add_done_callback(settled)

    def expire_together(self, message_ids: Sequence[int], timeout: float) -> None:
        """One timer for several requests: those without a reply ``timeout`` seconds from now fail with
        ``RequestTimeoutError``. The timer is dropped once every one has settled."""
        pendings: list[_Pending | None] = [self._pending.get(message_id) for message_id in message_ids]
        live: list[_Pending | None] = [
            pending for pending in pendings if pending is not None and not pending.future.done()
        ]
        if not live:
            return
        timer = asyncio.get_running_loop().call_later(timeout, self._expire_all, live, timeout)
        left = [len(live)]

        def one_settled(_future: asyncio.Future[Any]) -> None:
            left[0] -= 1
            if left[0] == 0:
                timer.cancel()

        for pending in live:
            if pending is not None:
                pending.future.add_done_callback(one_settled)

    @staticmethod
    def _expire(pending: _Pending, timeout: float) -> None:
        # An answer that arrived first (even in the same tick) counts.
        if not pending.future.done():
            pending.future.set_exception(RequestTimeoutError(pending.action, timeout))

    @classmethod
    def _expire_all(cls, pendings: list[_Pending | None], timeout: float) -> None:
        for pending in pendings:
            if pending is not None:
                cls._expire(pending, timeout)

    def discard(self, message_id: int) -> None:
        """Forget a request that could not be sent."""
        pending = self._pending.pop(message_id, None)
        if pending is not None and not pending.future.done():
            pending.future.cancel()

    def resolve(self, ack: AckFrame) -> bool:
        """Settle the request ``ack`` answers; ``False`` when it answers nothing we wait for.

        Follows node-adapter's rules: a non-``ack`` action, a missing payload or ``success: false`` fail
        the request; otherwise it resolves with ``payload.data``.
        """
        pending = self._pending.get(ack.correlation_id)
        if pending is None or pending.future.done():
            return False
        if ack.action != "ack":
            error: Exception = RuntimeRequestError(pending.action, "Did not receive ack action")
        elif ack.payload is None:
            error = RuntimeRequestError(pending.action, ack.reason or "Invalid response shape")
        elif not ack.payload.success:
            error = RuntimeRequestError(
                pending.action, ack.payload.reason or "Request failed without a reason", ack.payload.error
            )
        else:
            pending.future.set_result(ack.payload.data)
            return True
        pending.future.set_exception(error)
        return True

    def fail_all(self, error: Exception) -> None:
        """Fail every pending request with ``error`` (the socket closed)."""
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()
