"""Waiting in tests: until something observable happened, never for a fixed time.

A fixed sleep is a guess about how fast the machine is: too short on a loaded machine (the test fails for
nothing) or, worse, too short to see a thing that should *not* happen (the test passes for nothing).
``eventually`` polls a condition until it holds and fails, naming what it waited for, only after a bound far
above any normal delay, so a fast machine waits milliseconds and a slow one still passes. See
docs/testing.md for the rules these helpers serve.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable

WAIT = 10.0
"""The default bound: generous, since it is only ever reached when the awaited thing never happens."""


async def eventually(
    condition: Callable[[], object], what: str, *, timeout: float = WAIT, interval: float = 0.005
) -> None:
    """Wait until ``condition()`` is truthy, polling every ``interval`` seconds on the running loop.

    ``condition`` may be a coroutine function (a condition read over the network): it is awaited.
    Raises ``AssertionError`` naming ``what`` when it still does not hold after ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        holds = condition()
        if inspect.isawaitable(holds):
            holds = await holds
        if holds:
            return
        if loop.time() > deadline:
            raise AssertionError(f"still not {what} after {timeout} s")
        await asyncio.sleep(interval)


def eventually_blocking(
    condition: Callable[[], object], what: str, *, timeout: float = WAIT, interval: float = 0.05
) -> None:
    """``eventually`` for synchronous tests (ones that drive other processes): blocks the calling thread."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {timeout} s")
        time.sleep(interval)
