"""Where a ``RuntimeConnection`` is in its life, and who watches it change. Pure: no socket, no task."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Callable

import structlog

log = structlog.get_logger(__name__)


class RuntimeConnectionState(enum.StrEnum):
    """Where the connection is in its life."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    RESTORING = "restoring"
    """The socket is back; what the runtime forgot (channels, subscriptions, registrations) is not yet."""
    CLOSED = "closed"


class StateWatch:
    """The current state, told to callbacks and to async iterators on every change.

    A connection starts ``closed`` before it ever connects; iterators end at ``closed`` only once the state
    has been something else (the connection has started).
    """

    def __init__(self) -> None:
        self.current = RuntimeConnectionState.CLOSED
        self._started = False
        self._callbacks: list[Callable[[RuntimeConnectionState], None]] = []
        self._queues: list[asyncio.Queue[RuntimeConnectionState]] = []

    def move(self, state: RuntimeConnectionState) -> None:
        """Enter ``state`` (a change) and tell every watcher; a callback that raises is logged."""
        self.current = state
        self._started = self._started or state is not RuntimeConnectionState.CLOSED
        for callback in list(self._callbacks):
            try:
                callback(state)
            except Exception:
                log.exception("runtime.state_callback_failed")
        for queue in self._queues:
            queue.put_nowait(state)

    def on_change(self, callback: Callable[[RuntimeConnectionState], None]) -> Callable[[], None]:
        """Call ``callback(state)`` on every change; returns a function that removes it."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    async def states(self) -> AsyncIterator[RuntimeConnectionState]:
        """The current state, then each change, ending after ``closed``."""
        queue: asyncio.Queue[RuntimeConnectionState] = asyncio.Queue()
        self._queues.append(queue)
        try:
            state = self.current
            yield state
            while state is not RuntimeConnectionState.CLOSED or not self._started:
                state = await queue.get()
                yield state
        finally:
            self._queues.remove(queue)
