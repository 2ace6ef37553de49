"""Process lifecycle shared by every long-running command: the READY line, clean shutdown on signals, and
the one way a start-up failure ends the process.

A command's ``serve(stop)`` may fail to start for many reasons (nothing listens at the runtime address, a
port is taken, ...). It raises ``StartupError`` with one sentence for people and the exit code; the CLI
prints the sentence and exits with the code. A stop signal (Ctrl-C, SIGTERM) that comes before ``READY``
cancels the start-up wherever it waits and ends the process with ``EXIT_INTERRUPTED``; after ``READY`` it
sets ``stop`` and the command shuts down cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable

EXIT_OK = 0
EXIT_START_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class StartupError(Exception):
    """The command cannot start; ``str(error)`` is one sentence for the operator, ``exit_code`` the status."""

    def __init__(self, sentence: str, exit_code: int = EXIT_START_FAILED) -> None:
        super().__init__(sentence)
        self.exit_code = exit_code


class Interrupted(StartupError):
    """A stop signal arrived before the command was ready."""

    def __init__(self) -> None:
        super().__init__("stopped before start-up finished", EXIT_INTERRUPTED)


class _Readiness:
    # Whether this process printed READY yet: a stop before it cancels the start-up instead of waiting.
    announced = False


def announce_ready(target: str) -> None:
    """Print the one ``READY <target>`` line that scripts wait for, and flush it at once."""
    _Readiness.announced = True
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


async def serve_until_stopped(serve: Callable[[asyncio.Event], Awaitable[int]], stop: asyncio.Event) -> int:
    """Run ``serve(stop)``; ``stop`` set before it announced READY cancels it and raises ``Interrupted``."""
    _Readiness.announced = False
    serving = asyncio.ensure_future(serve(stop))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if serving.done() or _Readiness.announced:
        return await serving
    serving.cancel()
    # The command's own clean-up (closing sockets, stopping child processes) runs as the cancellation unwinds.
    with contextlib.suppress(asyncio.CancelledError):
        await serving
    raise Interrupted


def run_until_signalled(serve: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    """Run ``serve(stop)`` on a fresh event loop; ``stop`` is set by SIGINT/SIGTERM. Returns its exit code.

    Raises ``StartupError`` (``Interrupted`` for a stop before READY) for the CLI to report.
    """

    async def main() -> int:
        stop = asyncio.Event()
        install_shutdown_signals(stop)
        return await serve_until_stopped(serve, stop)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        # Only before the loop installed its handlers, or on a platform where it could not.
        raise Interrupted from None
