"""Process lifecycle shared by every long-running command: the READY line and clean shutdown on signals."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable


def announce_ready(target: str) -> None:
    """Print the one ``READY <target>`` line that scripts wait for, and flush it at once."""
    sys.stdout.write(f"READY {target}\n")
    sys.stdout.flush()


def install_shutdown_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM.

    ``loop.add_signal_handler`` exists only on POSIX; on Windows the stdlib handler hands the signal to
    the loop thread-safely instead.
    """
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):
            signal.signal(signum, lambda _signum, _frame: loop.call_soon_threadsafe(stop.set))


def run_until_signalled(serve: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    """Run ``serve(stop)`` on a fresh event loop; ``stop`` is set by SIGINT/SIGTERM. Returns its exit code."""

    async def main() -> int:
        stop = asyncio.Event()
        install_shutdown_signals(stop)
        return await serve(stop)

    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(main())
    return 130
