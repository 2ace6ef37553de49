"""The processes a benchmark desktop is made of: project commands (READY line) and node scripts (JSON lines).

Every process is a real subprocess, started with asyncio so that the orchestrator can drive several at once;
every wait has a timeout, and stopping is SIGTERM first (a clean shutdown is part of the CLI contract), a
kill only if it lingers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_ADAPTER = ROOT / "tests" / "conformance" / "node_modules" / "@openfin" / "node-adapter"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
STREAM_LIMIT = 64 * 1024 * 1024


class BenchmarkSetupError(RuntimeError):
    """A process of the desktop did not start, or a node script failed a command."""


@dataclass
class Started:
    """A running project command: its READY target, how long it took to get there, and its stderr."""

    target: str
    process: asyncio.subprocess.Process
    ready_seconds: float
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The process id (for RSS readings)."""
        return self.process.pid


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def _pump(stream: asyncio.StreamReader, into: list[str]) -> None:
    async for line in stream:
        into.append(line.decode(errors="replace"))


def adapter_command(*args: str) -> list[str]:
    """``servicenow-adapter ARGS`` run with this interpreter."""
    return [sys.executable, "-m", "adapter", *args]


@contextlib.asynccontextmanager
async def started(command: Sequence[str]) -> AsyncIterator[Started]:
    """Run ``command`` for the block; yields once it printed ``READY <target>``."""
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=STREAM_LIMIT,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    stderr_lines: list[str] = []
    pumps = [asyncio.create_task(_pump(process.stderr, stderr_lines))]
    try:
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                while True:
                    line = (await process.stdout.readline()).decode()
                    if not line:
                        await process.wait()
                        raise BenchmarkSetupError(
                            f"{command} exited with {process.returncode}:\n{''.join(stderr_lines)}"
                        )
                    if line.startswith("READY "):
                        break
        except TimeoutError:
            raise BenchmarkSetupError(f"{command} printed no READY line:\n{''.join(stderr_lines)}") from None
        ready = time.perf_counter() - began
        pumps.append(asyncio.create_task(_pump(process.stdout, [])))
        yield Started(line.removeprefix("READY ").strip(), process, ready, stderr_lines)
    finally:
        await _stop(process)
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


def node_executable() -> str:
    """``node`` on PATH, with the conformance suite's node-adapter installed; fails clearly otherwise."""
    node = shutil.which("node")
    if node is None:
        raise BenchmarkSetupError("node is not on PATH (the benchmarks need Node 20+)")
    if not NODE_ADAPTER.is_dir():
        raise BenchmarkSetupError(f"run `npm ci` in {NODE_ADAPTER.parents[2]} first (make test does)")
    return node


@dataclass
class NodeScript:
    """A running ``benchmarks/node`` script: wait for its events, send it commands, read their replies."""

    name: str
    process: asyncio.subprocess.Process
    stderr_lines: list[str]
    _events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        """Collect the script's stdout lines as events."""
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        """End the script and stop reading it."""
        await _stop(self.process)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict):
                await self._events.put(message)
        await self._events.put({"event": "exited"})

    async def wait_for(self, event: str, timeout: float) -> Any:
        """The data of the next ``event``; fails with the script's stderr if it exits or times out first."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await self._events.get()
                    if message.get("event") == event:
                        return message.get("data")
                    if message.get("event") == "exited":
                        raise BenchmarkSetupError(f"{self.name} exited:\n{''.join(self.stderr_lines)}")
        except TimeoutError:
            raise BenchmarkSetupError(
                f"{self.name}: no {event} within {timeout} s:\n{''.join(self.stderr_lines)}"
            ) from None

    async def call(self, op: str, timeout: float = 600.0, **fields: Any) -> Any:
        """Send one command and return its result (commands are answered in order)."""
        assert self.process.stdin is not None
        command_id = next(self._ids)
        self.process.stdin.write((json.dumps({"op": op, "id": command_id, **fields}) + "\n").encode())
        await self.process.stdin.drain()
        reply = await self.wait_for("reply", timeout)
        if reply["id"] != command_id:
            raise BenchmarkSetupError(f"{self.name}: reply {reply['id']} to command {command_id}")
        if not reply["ok"]:
            raise BenchmarkSetupError(f"{self.name} failed {op}: {reply['error']}")
        return reply["result"]


@contextlib.asynccontextmanager
async def node_script(
    script: str, params: dict[str, Any], *, ready_timeout: float = 120.0
) -> AsyncIterator[NodeScript]:
    """Run ``benchmarks/node/<script>`` with ``params`` for the block; yields once it printed ``ready``."""
    process = await asyncio.create_subprocess_exec(
        node_executable(),
        str(NODE_DIR / script),
        json.dumps(params),
        cwd=NODE_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=STREAM_LIMIT,
    )
    assert process.stderr is not None
    stderr_lines: list[str] = []
    pump = asyncio.create_task(_pump(process.stderr, stderr_lines))
    node = NodeScript(script, process, stderr_lines)
    node.start_reading()
    try:
        await node.wait_for("ready", ready_timeout)
        yield node
    finally:
        await node.stop()
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)
