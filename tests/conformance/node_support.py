"""Run the conformance node scripts (official @openfin/node-adapter peers) from pytest.

A script takes one JSON object of parameters as its first argument, may print progress lines
``{"event": NAME, "data": ...}`` and ends with exactly one result line: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": {name, className, message, cause?}}`` (see ``harness.mjs``). Every run has a timeout,
and a failure message carries the script's stderr.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.fdc3_schemas import check_emitted

CONFORMANCE_DIR = Path(__file__).resolve().parent
NODE_MODULES = CONFORMANCE_DIR / "node_modules"
DEFAULT_TIMEOUT = 30.0


class NodeScriptError(AssertionError):
    """A script ended without a result line, timed out, or did not print what the test waited for."""


class NodeScriptFailed(AssertionError):
    """A script reported ``{"ok": false, "error": ...}``; ``error`` is what node-adapter threw."""

    def __init__(self, script: str, error: dict[str, Any], stderr: str) -> None:
        super().__init__(f"{script} failed: {error}\nstderr:\n{stderr}")
        self.error = error
        self.stderr = stderr


def node_executable() -> str:
    """The ``node`` on PATH; fails clearly when node or the npm packages are missing."""
    node = shutil.which("node")
    if node is None:
        raise NodeScriptError("node is not on PATH (the conformance suite needs Node 20+)")
    if not (NODE_MODULES / "@openfin" / "node-adapter").is_dir():
        raise NodeScriptError(f"run `npm ci` in {CONFORMANCE_DIR} first (make test does)")
    return node


@dataclass
class NodeProcess:
    """A running script: wait for its progress events, then for its result."""

    script: str
    process: subprocess.Popen[str]
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _stderr: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    adapter_peer: bool = False
    """Everything this script prints came from the adapter: each FDC3 context in it is schema-checked."""

    def start_pumps(self) -> None:
        """Read stdout and stderr on daemon threads so that the pipes never fill up."""
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        stdout, stderr = self.process.stdout, self.process.stderr

        def pump_stdout() -> None:
            for line in stdout:
                self._lines.put(line)
            self._lines.put(None)

        def pump_stderr() -> None:
            for line in stderr:
                self._stderr.append(line)

        threading.Thread(target=pump_stdout, daemon=True).start()
        threading.Thread(target=pump_stderr, daemon=True).start()

    @property
    def stderr(self) -> str:
        """What the script wrote on stderr so far."""
        return "".join(self._stderr)

    def _next(self, timeout: float, waiting_for: str) -> dict[str, Any]:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                self.kill()
                raise NodeScriptError(
                    f"{self.script}: no {waiting_for} within {timeout} s\nstderr:\n{self.stderr}"
                ) from None
            if line is None:
                self.process.wait(timeout=5)
                raise NodeScriptError(
                    f"{self.script} exited ({self.process.returncode}) before {waiting_for}"
                    f"\nstderr:\n{self.stderr}"
                )
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                self._stderr.append(f"[stdout] {line}")
                continue
            if isinstance(message, dict):
                if self.adapter_peer:
                    check_emitted(message)
                return message

    def wait_for_event(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Block until the script prints ``{"event": name}``; return its ``data``."""
        while True:
            message = self._next(timeout, f"event {name!r}")
            if "event" in message:
                self.events.append(message)
                if message["event"] == name:
                    return message.get("data")
            elif "ok" in message:
                raise NodeScriptError(
                    f"{self.script} finished before event {name!r}: {message}\n{self.stderr}"
                )

    def result(self, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Block until the result line; return ``result`` or raise ``NodeScriptFailed``."""
        outcome = self.outcome(timeout)
        if outcome.get("ok") is True:
            return outcome.get("result")
        raise NodeScriptFailed(self.script, outcome.get("error") or {}, self.stderr)

    def error(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Block until the result line; return the reported error, failing if the script succeeded."""
        outcome = self.outcome(timeout)
        if outcome.get("ok") is not False:
            raise NodeScriptError(f"{self.script} was expected to fail but returned {outcome}\n{self.stderr}")
        return dict(outcome.get("error") or {})

    def outcome(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Block until the result line and return it whole."""
        while True:
            message = self._next(timeout, "result")
            if "event" in message:
                self.events.append(message)
                continue
            if "ok" in message:
                self.process.wait(timeout=10)
                return message

    def send(self, message: Mapping[str, Any]) -> None:
        """Write one JSON line to the script's stdin (for scripts that wait for instructions)."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        """Stop the script if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def start_node(
    script: str | Path,
    params: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    adapter_peer: bool = False,
) -> NodeProcess:
    """Start ``script`` (relative to tests/conformance, or absolute); the caller must end it.

    ``adapter_peer``: the script is an app of the adapter, so every FDC3 context it reports was emitted by the
    adapter and is checked against the FINOS schemas (see ``tests/support/fdc3_schemas.py``).
    """
    path = Path(script)
    if not path.is_absolute():
        path = CONFORMANCE_DIR / path
    process = subprocess.Popen(
        [node_executable(), str(path), json.dumps(dict(params or {}))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=CONFORMANCE_DIR,
        env={**os.environ, **(env or {})},
    )
    running = NodeProcess(script=str(script), process=process, adapter_peer=adapter_peer)
    running.start_pumps()
    return running


def run_node(
    script: str | Path,
    params: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """Run ``script`` to its end and return its ``result``; raises ``NodeScriptFailed`` with its error."""
    running = start_node(script, params, env=env)
    try:
        return running.result(timeout)
    finally:
        running.kill()


def run_node_expecting_error(
    script: str | Path,
    params: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Run ``script`` to its end and return the error it reported (it must fail)."""
    running = start_node(script, params, env=env)
    try:
        return running.error(timeout)
    finally:
        running.kill()
