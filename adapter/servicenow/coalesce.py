"""Read coalescing: identical reads on one connection go to the instance once while they overlap, and once
per announced change while its news fans out.

All apps of a desktop share one login, and the instance rate-limits per user: when a case changes, a hundred
apps reading it again would spend the user's limit a hundred times on one answer. ``ReadCoalescer`` shares
reads in two ways.

In flight: the first read of a key runs and every identical read that starts while it is in flight waits for
its answer. The rules, each held by tests/unit/servicenow/test_coalesce.py:
- only what the caller marks as a read is shared, under the caller's key (the connection keys by method,
  URL and headers, so reads with differing headers never share);
- a coalescer belongs to one connection, so nothing is shared across users or instances;
- a read that starts after a write has started never joins a read that started before it (``write`` moves the
  coalescer to a new epoch when the write starts and again when it ends);
- one caller's cancellation does not cancel the shared read while others still wait for it; when the last
  waiter goes, the read is cancelled;
- an error reaches every waiter.

After a change: the apps learn of a change of record R one by one over the fan-out, and each reads R again
when it hears; those reads are spread over the fan-out, so most miss each other in flight. ``announce(scope)``
(called before the news of the change goes out) opens a window of ``window`` seconds for that record's scope,
in which the first read of each key is fetched anew and its answer is shared with every identical read of the
same scope that starts in the window, even once the answer has come. Its rules, held by
tests/unit/servicenow/test_coalesce_after_change.py:
- a read shared in a window was started after the announcement, never before it: an app told of the change
  never gets data older than the change (an announcement also moves the coalescer to a new epoch, so no read
  of that scope joins one in flight from before it);
- a later announcement of the same scope opens a new window: readers told of the later change get an answer
  fetched after it;
- any write on the connection closes every window (and a read that starts during or after the write never
  gets an answer from before it);
- only reads of the announced scope share in its window, under the same keys as in flight (same connection,
  URL, headers);
- an error, or a read every waiter left, is not kept: the next read of the window fetches anew;
- windows end after ``window`` seconds, at most ``max_windows`` are open (the oldest closes first) and each
  keeps at most ``max_answers`` answers, so what is held is bounded in size and time.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# Long enough to cover the news of a change reaching a thousand apps and their reads arriving, short enough
# that an answer is never held for long: an app that reads later simply reads anew.
CHANGE_WINDOW = 1.0
MAX_WINDOWS = 256
MAX_ANSWERS = 4


@dataclass(eq=False)
class _SharedRead(Generic[T]):
    task: asyncio.Future[T]
    waiters: int = 0

    def failed(self) -> bool:
        """Done without an answer (an error, or cancelled once every waiter left)."""
        return self.task.done() and (self.task.cancelled() or self.task.exception() is not None)


@dataclass(eq=False)
class _Window(Generic[T]):
    opened: float
    answers: dict[Hashable, _SharedRead[T]] = field(default_factory=dict)


class ReadCoalescer(Generic[T]):
    """Shares reads among identical callers; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        window: float = CHANGE_WINDOW,
        max_windows: int = MAX_WINDOWS,
        max_answers: int = MAX_ANSWERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._epoch = 0
        self._in_flight: dict[tuple[int, Hashable], _SharedRead[T]] = {}
        self._windows: OrderedDict[Hashable, _Window[T]] = OrderedDict()
        self._window = window
        self._max_windows = max_windows
        self._max_answers = max_answers
        self._clock = clock
        self.started = 0
        self.joined = 0
        self.reused = 0

    @property
    def in_flight(self) -> int:
        """How many distinct reads are running now (outside change windows)."""
        return len(self._in_flight)

    @property
    def windows(self) -> int:
        """How many change windows are open now."""
        self._close_expired()
        return len(self._windows)

    async def read(
        self, key: Hashable, fetch: Callable[[], Awaitable[T]], *, scope: Hashable | None = None
    ) -> T:
        """The answer of ``fetch()``, shared with every identical read (same ``key``) already in flight, or,
        while a change of ``scope`` was announced less than ``window`` seconds ago, with the read of ``key``
        that the window already made."""
        if scope is not None:
            window = self._open_window(scope)
            if window is not None:
                shared = window.answers.get(key)
                if shared is not None and not shared.failed():
                    if shared.task.done():
                        self.reused += 1
                    else:
                        self.joined += 1
                    return await self._wait(shared)
                if shared is not None or len(window.answers) < self._max_answers:
                    shared = self._start(fetch)
                    window.answers[key] = shared
                    return await self._wait(shared)
        slot = (self._epoch, key)
        shared = self._in_flight.get(slot)
        if shared is None:
            shared = self._start(fetch)
            self._in_flight[slot] = shared
            shared.task.add_done_callback(partial(self._forget, slot, shared))
        else:
            self.joined += 1
        return await self._wait(shared)

    def announce(self, scope: Hashable) -> None:
        """A change of ``scope`` is about to be announced: open its window (replacing an earlier one)."""
        self._epoch += 1
        self._windows.pop(scope, None)
        self._close_expired()
        while len(self._windows) >= self._max_windows:
            self._windows.popitem(last=False)
        window: _Window[T] = _Window(self._clock())
        self._windows[scope] = window
        # Lets go of the answers once the window is over, even if nothing reads or announces again.
        asyncio.get_running_loop().call_later(self._window, self._close, scope, window)

    def reset(self) -> None:
        """Close every window and share nothing in flight with reads from now on (the login ended)."""
        self._epoch += 1
        self._windows.clear()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        """Wrap a write: reads that start during or after it never share an answer from before it."""
        self.reset()
        try:
            yield
        finally:
            self.reset()

    def _start(self, fetch: Callable[[], Awaitable[T]]) -> _SharedRead[T]:
        shared: _SharedRead[T] = _SharedRead(asyncio.ensure_future(fetch()))
        shared.task.add_done_callback(_retrieve)
        self.started += 1
        return shared

    async def _wait(self, shared: _SharedRead[T]) -> T:
        shared.waiters += 1
        try:
            # shield: this caller's cancellation must not cancel the read the others wait for.
            return await asyncio.shield(shared.task)
        except asyncio.CancelledError:
            if shared.waiters == 1 and not shared.task.done():
                shared.task.cancel()
            raise
        finally:
            shared.waiters -= 1

    def _open_window(self, scope: Hashable) -> _Window[T] | None:
        window = self._windows.get(scope)
        if window is not None and self._clock() - window.opened >= self._window:
            del self._windows[scope]
            return None
        return window

    def _close_expired(self) -> None:
        now = self._clock()
        # Windows are kept in the order they opened, so the expired ones are at the front.
        while self._windows:
            scope, window = next(iter(self._windows.items()))
            if now - window.opened < self._window:
                break
            del self._windows[scope]

    def _close(self, scope: Hashable, window: _Window[T]) -> None:
        if self._windows.get(scope) is window:
            del self._windows[scope]

    def _forget(self, slot: tuple[int, Hashable], shared: _SharedRead[T], _done: asyncio.Future[T]) -> None:
        if self._in_flight.get(slot) is shared:
            del self._in_flight[slot]


def _retrieve(task: asyncio.Future[Any]) -> None:
    # Retrieve the outcome so a read whose waiters all left never logs "exception never retrieved".
    if not task.cancelled():
        task.exception()
