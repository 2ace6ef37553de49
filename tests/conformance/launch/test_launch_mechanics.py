"""launch-adapter.mjs under @openfin/node-adapter against the runtime emulator's ``--asset`` launches.

The asset here is ``launch_mechanics_double.py``, a stand-in for the executable that reports how it was
launched; it proves the launch mechanics (arguments, token, errors, lifetime), not the adapter itself.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import NodeScripts
from tests.support.processes import RunningCommand

DOUBLE = Path(__file__).with_name("launch_mechanics_double.py")
PLATFORM_UUID = "acme-platform"
ALIAS = "servicenow-adapter"
WAIT = 20.0


@pytest.fixture
def reports() -> Iterator[socket.socket]:
    """Where launched doubles report their arguments; a double's connection closes when it ends."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(WAIT)
        yield server


def emulator_with_double(
    start: Callable[..., RunningCommand], reports: socket.socket, *double_options: str
) -> str:
    port = reports.getsockname()[1]
    command = " ".join([f'"{sys.executable}"', f'"{DOUBLE}"', f"127.0.0.1:{port}", *double_options])
    return start("--asset", f"{ALIAS}={command}").target


def accept_report(reports: socket.socket) -> tuple[socket.socket, list[str]]:
    connection, _ = reports.accept()
    connection.settimeout(WAIT)
    line = connection.makefile("r", encoding="utf-8").readline()
    arguments: list[str] = json.loads(line)
    return connection, arguments


def launch(node_script: NodeScripts, address: str, **options: Any) -> dict[str, Any]:
    params = {
        "address": address,
        "platformUuid": PLATFORM_UUID,
        "alias": ALIAS,
        "channelName": "servicenow",
        "brokerUuid": PLATFORM_UUID,
        "extraArgs": [],
        "timeoutMs": 10000,
        **options,
    }
    outcome: dict[str, Any] = node_script.run("launch/launch_adapter.mjs", params, timeout=WAIT)
    return outcome


def flag_value(arguments: list[str], flag: str) -> str:
    assert arguments.count(flag) == 1, arguments
    return arguments[arguments.index(flag) + 1]


def test_asset_is_started_with_runtime_address_identity_broker_channel_and_settings(
    start_runtime_emulator: Callable[..., RunningCommand], node_script: NodeScripts, reports: socket.socket
) -> None:
    address = emulator_with_double(start_runtime_emulator, reports, "--exit-code", "0")
    settings = ["--instance-url", "https://acme.service-now.com", "--allow-app", "Blotter App --token x"]

    launch(node_script, address, extraArgs=settings)
    connection, arguments = accept_report(reports)
    connection.close()

    assert flag_value(arguments, "--runtime-address") == address
    assert flag_value(arguments, "--uuid") == ALIAS
    assert flag_value(arguments, "--token")
    assert flag_value(arguments, "--broker") == PLATFORM_UUID
    assert flag_value(arguments, "--channel") == "servicenow"
    assert arguments[-4:] == settings


def test_token_on_the_command_line_lets_the_asset_connect_as_the_adapter(
    start_runtime_emulator: Callable[..., RunningCommand], node_script: NodeScripts, reports: socket.socket
) -> None:
    address = emulator_with_double(start_runtime_emulator, reports)
    launcher = node_script.start(
        "launch/launch_adapter.mjs",
        {"address": address, "platformUuid": PLATFORM_UUID, "alias": ALIAS, "timeoutMs": 15000},
    )
    launcher.wait_for_event("connected")
    connection, arguments = accept_report(reports)

    with connection:
        joined = node_script.run(
            "launch/connect_with_token.mjs",
            {
                "address": flag_value(arguments, "--runtime-address"),
                "uuid": flag_value(arguments, "--uuid"),
                "token": flag_value(arguments, "--token"),
            },
        )

    assert joined["identity"]["uuid"] == ALIAS


def test_asset_exiting_before_its_channel_exists_is_reported_with_its_exit_code(
    start_runtime_emulator: Callable[..., RunningCommand], node_script: NodeScripts, reports: socket.socket
) -> None:
    address = emulator_with_double(start_runtime_emulator, reports, "--exit-code", "7")

    outcome = launch(node_script, address)
    accept_report(reports)[0].close()

    assert outcome["launched"] is False
    assert outcome["error"]["code"] == "exited"
    assert (
        outcome["error"]["message"]
        == "servicenow-adapter exited with code 7 before creating channel servicenow"
    )


def test_channel_missing_after_the_timeout_is_reported_with_the_launched_process(
    start_runtime_emulator: Callable[..., RunningCommand], node_script: NodeScripts, reports: socket.socket
) -> None:
    address = emulator_with_double(start_runtime_emulator, reports)

    outcome = launch(node_script, address, timeoutMs=1500)
    accept_report(reports)[0].close()

    assert outcome["launched"] is False
    assert outcome["error"]["code"] == "timeout"
    assert (
        outcome["error"]["message"] == "servicenow-adapter did not create channel servicenow within 1500 ms"
    )
    assert outcome["error"]["processUuid"]


def test_asset_ends_when_the_platform_connection_closes(
    start_runtime_emulator: Callable[..., RunningCommand], node_script: NodeScripts, reports: socket.socket
) -> None:
    address = emulator_with_double(start_runtime_emulator, reports)

    launch(node_script, address, timeoutMs=1000)
    connection, _ = accept_report(reports)

    with connection:
        assert connection.recv(1024) == b"", "the double's socket closes when the double ends"


def test_unknown_asset_alias_is_reported_as_a_launch_failure(
    start_runtime_emulator: Callable[..., RunningCommand], node_script: NodeScripts, reports: socket.socket
) -> None:
    address = emulator_with_double(start_runtime_emulator, reports)

    outcome = launch(node_script, address, alias="not-in-the-manifest")

    assert outcome["launched"] is False
    assert outcome["error"]["code"] == "launch-failed"
    assert "unknown app asset alias: not-in-the-manifest" in outcome["error"]["message"]
