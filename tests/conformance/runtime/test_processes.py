"""``launch-external-process`` through node-adapter starts real processes from ``--asset`` aliases."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conformance.conftest import NodeScripts
from tests.support.processes import RunningCommand

CHILD = Path(__file__).with_name("asset_child.py")
WAIT = 20.0


@pytest.fixture
def child_listener() -> Iterator[socket.socket]:
    """A local socket that asset children report to; a child's connection closes when the child ends."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(WAIT)
        yield server


def _emulator_with_child_asset(start: Callable[..., RunningCommand]) -> str:
    command = f'"{sys.executable}" "{CHILD}"'
    return start("--asset", f"child={command}").target


def _accept_report(server: socket.socket) -> tuple[socket.socket, list[str]]:
    connection, _ = server.accept()
    connection.settimeout(WAIT)
    line = connection.makefile("r").readline()
    return connection, json.loads(line)


def test_launch_by_alias_starts_the_asset_command_with_the_arguments(
    start_runtime_emulator: Callable[..., RunningCommand],
    node_script: NodeScripts,
    child_listener: socket.socket,
) -> None:
    address = _emulator_with_child_asset(start_runtime_emulator)
    port = child_listener.getsockname()[1]

    result = node_script.run(
        "runtime/launch_process.mjs",
        {
            "address": address,
            "uuid": "launcher",
            "alias": "child",
            "args": f'127.0.0.1:{port} "two words" --exit 3',
            "waitForExit": True,
        },
    )
    connection, argv = _accept_report(child_listener)
    connection.close()

    assert argv == [f"127.0.0.1:{port}", "two words", "--exit", "3"]
    assert result["launched"]["uuid"]
    assert result["exit"] == {"topic": "exited", "uuid": result["launched"]["uuid"], "exitCode": 3}


def test_application_lifetime_child_ends_when_its_launcher_disconnects(
    start_runtime_emulator: Callable[..., RunningCommand],
    node_script: NodeScripts,
    child_listener: socket.socket,
) -> None:
    address = _emulator_with_child_asset(start_runtime_emulator)
    port = child_listener.getsockname()[1]
    launcher = node_script.start(
        "runtime/launch_process.mjs",
        {
            "address": address,
            "uuid": "launcher",
            "alias": "child",
            "args": f"127.0.0.1:{port}",
            "lifetime": "application",
        },
    )
    launcher.wait_for_event("launched")
    connection, _ = _accept_report(child_listener)

    launcher.send({"leave": True})
    launcher.result()

    with connection:
        assert connection.recv(1024) == b"", "the child's socket closes when the child ends"


def test_unknown_alias_is_refused(
    start_runtime_emulator: Callable[..., RunningCommand], node_script: NodeScripts
) -> None:
    address = _emulator_with_child_asset(start_runtime_emulator)

    error = node_script.start(
        "runtime/launch_process.mjs", {"address": address, "uuid": "launcher", "alias": "nope", "args": ""}
    ).error()

    assert error["message"] == "Failed to launch external process: unknown app asset alias: nope"
