"""Read coalescing: identical reads in flight at the same time on one connection go to the instance once.

All apps of a desktop share one login, and the instance rate-limits per user: when a case changes, a hundred
apps reading it again would spend the user's limit a hundred times on one answer. ``ReadCoalescer`` lets the
first read of a key run and every identical read that starts while it is in flight wait for its answer.

The rules, each held by tests/unit/servicenow/test_coalesce.py:
- only what the caller marks as a read is shared, under the caller's key (the connection keys by method,
  URL and headers, so reads with differing headers never share);
- a coalescer belongs to one connection, so nothing is shared across users or instances;
- a read that starts after a write has started never joins a read that started before it (``write`` moves the
  coalescer to a new epoch when the write starts and again when it ends);
- one caller's cancellation does not cancel the shared read while others still wait for it; when the last
  waiter goes, the read is cancelled;
- an error reaches every waiter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class _SharedRead(Generic[T]):
    task: asyncio.Future[T]
    waiters: int = 0


class ReadCoalescer(Generic[T]):
    """Shares one in-flight read among identical callers; see the module docstring for the rules."""

    def __init__(self) -> None:
        self._epoch = 0
        self._in_flight: dict[tuple[int, Hashable], _SharedRead[T]] = {}
        self.started = 0
        self.joined = 0

    @property
    def in_flight(self) -> int:
        """How many distinct reads are running now."""
        return len(self._in_flight)

    async def read(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        """The answer of ``fetch()``, shared with every identical read (same ``key``) already in flight."""
        slot = (self._epoch, key)
        shared = self._in_flight.get(slot)
        if shared is None:
            shared = _SharedRead(asyncio.ensure_future(fetch()))
            self._in_flight[slot] = shared
            shared.task.add_done_callback(partial(self._forget, slot, shared))
            self.started += 1
        else:
            self.joined += 1
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

    @asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        """Wrap a write: reads that start during or after it never share an answer from before it."""
        self._epoch += 1
        try:
            yield
        finally:
            self._epoch += 1

    def _forget(self, slot: tuple[int, Hashable], shared: _SharedRead[T], _done: asyncio.Future[T]) -> None:
        if self._in_flight.get(slot) is shared:
            del self._in_flight[slot]
        if not shared.task.cancelled():
            # Retrieve the outcome so a read whose waiters all left never logs "exception never retrieved".
            shared.task.exception()
