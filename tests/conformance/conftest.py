"""Fixtures for the conformance suite: a real runtime emulator subprocess per test, and node script runners.

Reuse them from any test under ``tests/conformance/``:

- ``runtime_emulator`` -> the ``ws://127.0.0.1:<port>`` URL of a fresh ``servicenow-adapter emulate runtime
  --port 0`` (function-scoped: every test gets its own runtime).
- ``runtime_emulator_with_broker`` -> ``(url, platform_uuid)`` of an emulator started with ``--broker``.
- ``start_runtime_emulator(*extra_args)`` -> a context manager for other command lines (``--asset`` ...).
- ``node_script`` -> ``run_node`` / ``start_node`` from ``node_support`` with cleanup: every script
  started in a test is killed when the test ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.node_support import NodeProcess, node_executable, run_node, start_node
from tests.support.processes import RunningCommand, adapter_command, running

BROKER_PLATFORM_UUID = "conformance-platform"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/conformance is a conformance test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.conformance)


@contextlib.contextmanager
def runtime_emulator_process(
    *extra_args: str, env: Mapping[str, str] | None = None
) -> Iterator[RunningCommand]:
    """A real ``servicenow-adapter emulate runtime --port 0 EXTRA_ARGS`` until the block ends."""
    node_executable()
    with running(
        adapter_command("emulate", "runtime", "--port", "0", *extra_args), env=dict(env or {})
    ) as emu:
        yield emu


@pytest.fixture
def runtime_emulator() -> Iterator[str]:
    """The websocket URL of a fresh runtime emulator."""
    with runtime_emulator_process() as emulator:
        yield emulator.target


@pytest.fixture
def runtime_emulator_with_broker() -> Iterator[tuple[str, str]]:
    """``(url, platform_uuid)`` of a fresh runtime emulator running the built-in broker."""
    with runtime_emulator_process("--broker", BROKER_PLATFORM_UUID) as emulator:
        yield emulator.target, BROKER_PLATFORM_UUID


@pytest.fixture
def start_runtime_emulator() -> Iterator[Callable[..., RunningCommand]]:
    """Start emulators with any extra arguments; all of them stop when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(*extra_args: str, env: Mapping[str, str] | None = None) -> RunningCommand:
            return stack.enter_context(runtime_emulator_process(*extra_args, env=env))

        yield start


class NodeScripts:
    """Run or start node scripts; every started script is killed at the end of the test."""

    def __init__(self) -> None:
        self.started: list[NodeProcess] = []

    def run(self, script: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """Run to the end and return the result (see ``node_support.run_node``)."""
        return run_node(script, params, **kwargs)

    def start(self, script: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> NodeProcess:
        """Start in the background (see ``node_support.start_node``)."""
        process = start_node(script, params, **kwargs)
        self.started.append(process)
        return process

    def kill_all(self) -> None:
        """Kill every script still running."""
        for process in self.started:
            process.kill()


@pytest.fixture
def node_script() -> Iterator[NodeScripts]:
    """Node script runner with cleanup."""
    scripts = NodeScripts()
    try:
        yield scripts
    finally:
        scripts.kill_all()
