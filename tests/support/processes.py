"""Start project commands as real subprocesses and wait for their ``READY <url>`` line."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0


@dataclass
class RunningCommand:
    """A started ``servicenow-adapter`` command: its READY target, the process and its captured stderr."""

    target: str
    process: subprocess.Popen[str]
    stderr_lines: list[str] = field(default_factory=list)
    stdout_lines: list[str] = field(default_factory=list)
    """What the command printed before its READY line."""

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)


def adapter_command(*args: str) -> list[str]:
    """The command line of ``servicenow-adapter ARGS`` run with this interpreter."""
    return [sys.executable, "-m", "adapter", *args]


@contextlib.contextmanager
def running(command: Sequence[str], *, env: dict[str, str] | None = None) -> Iterator[RunningCommand]:
    """Run ``command`` until the block ends; yield once it printed ``READY <target>``.

    Fails with the process's stderr when it exits or stays silent for READY_TIMEOUT seconds. On exit the
    process gets SIGTERM (clean shutdown is part of the contract) and is killed if it lingers.
    """
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    assert process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    result = RunningCommand(target="", process=process)

    def pump_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    def pump_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            result.stderr_lines.append(line)

    threading.Thread(target=pump_stdout, daemon=True).start()
    threading.Thread(target=pump_stderr, daemon=True).start()
    try:
        while True:
            try:
                line = lines.get(timeout=READY_TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"{command} printed no READY line:\n{result.stderr}") from None
            if line is None:
                process.wait(timeout=5)
                raise AssertionError(f"{command} exited with {process.returncode}:\n{result.stderr}")
            if line.startswith("READY "):
                result.target = line.removeprefix("READY ").strip()
                break
            result.stdout_lines.append(line)
        yield result
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
