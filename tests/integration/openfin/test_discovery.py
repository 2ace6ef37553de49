"""Port discovery end to end on POSIX: unix socket, an RVM process (a test double), a real runtime emulator.

The test double ``fake_rvm.py`` is started exactly as the RVM would be and plays the runtime's side of the
discovery pipe with frames it builds itself; the port it reports is that of a real ``emulate runtime``.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapter.bridge.service import DEFAULT_RUNTIME_ADDRESS, runtime_address
from adapter.logging import configure_logging
from adapter.openfin import ChannelClient, RuntimeConnection
from adapter.openfin.discovery import DiscoveryRequest, discover_runtime
from adapter.settings import load_settings
from tests.support.processes import RunningCommand, adapter_command, running
from tests.support.waiting import eventually_blocking

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="the RVM test double speaks over a unix socket"
)

FAKE_RVM = Path(__file__).with_name("fake_rvm.py")
VERSION = "42.103.2.1"


@pytest.fixture(scope="module")
def runtime_port() -> Iterator[int]:
    with running(adapter_command("emulate", "runtime", "--port", "0")) as emulator:
        yield int(emulator.target.rsplit(":", 1)[1])


@pytest.fixture
def rvm(tmp_path: Path) -> Path:
    """An executable standing in for OpenFinRVM: runs the test double with this interpreter."""
    wrapper = tmp_path / "OpenFinRVM"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_RVM}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "rvm-record.json"
    monkeypatch.setenv("FAKE_RVM_RECORD", str(path))
    return path


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", json=True, stream=stream)
    yield stream
    configure_logging("info")


def logged(stream: io.StringIO, event: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    matches = [line for line in lines if line.get("event") == event]
    assert len(matches) == 1, f"expected one {event!r} line in {lines}"
    found: dict[str, Any] = matches[0]
    return found


def wait_for_stderr(command: RunningCommand, text: str) -> str:
    eventually_blocking(lambda: text in command.stderr, f"{text!r} in the adapter's output")
    return next(line for line in command.stderr_lines if text in line)


def pid_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_run_without_runtime_address_finds_the_runtime_through_the_rvm_and_serves_its_channel(
    runtime_port: int, rvm: Path, tmp_path: Path
) -> None:
    record = tmp_path / "run-record.json"
    env = {"FAKE_RVM_RUNTIME_PORT": str(runtime_port), "FAKE_RVM_RECORD": str(record)}
    command = adapter_command(
        "run", "--runtime-version", VERSION, "--rvm-path", str(rvm), "--uuid", "discovered-adapter"
    )
    with running(command, env=env) as adapter:
        assert adapter.target == "channel servicenow"
        line = wait_for_stderr(adapter, "runtime.address_discovered")
        assert f"ws://127.0.0.1:{runtime_port}" in line
        assert "--runtime-address: not set" in line
        async with RuntimeConnection(f"ws://127.0.0.1:{runtime_port}", "discovery-probe") as probe:
            client = ChannelClient(probe, "servicenow")
            await client.connect(timeout=10)
            status = await client.dispatch("servicenow.status", {}, timeout=10)
            await client.disconnect()
    assert status is not None
    given = json.loads(record.read_text(encoding="utf-8"))
    assert given["manifest"] == {"runtime": {"version": VERSION, "arguments": ""}}


async def test_discovery_passes_the_realm_and_leaves_no_pipe_or_manifest_behind(
    runtime_port: int, rvm: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_RVM_RUNTIME_PORT", str(runtime_port))
    info = await discover_runtime(DiscoveryRequest(VERSION, "acme"), rvm, timeout=10)
    assert info.port == runtime_port
    assert info.security_realm == "acme"
    given = json.loads(record.read_text(encoding="utf-8"))
    assert given["manifest"]["runtime"]["arguments"] == "--security-realm=acme"
    config = next(arg.removeprefix("--config=") for arg in given["argv"] if arg.startswith("--config="))
    channel = given["argv"][-1].rsplit("=", 1)[1]
    assert not Path(config).exists()
    assert not Path(channel).exists()


async def test_no_rvm_found_falls_back_to_9696_and_logs_what_was_tried(
    tmp_path: Path, log_stream: io.StringIO
) -> None:
    settings = load_settings({"runtime_version": VERSION, "rvm_path": tmp_path / "absent"})
    assert await runtime_address(settings) == DEFAULT_RUNTIME_ADDRESS
    line = logged(log_stream, "runtime.address_defaulted")
    assert line["tried"] == [
        "--runtime-address: not set",
        f"port discovery: --rvm-path {tmp_path / 'absent'}: no such file",
        "ws://127.0.0.1:9696: used, the last resort",
    ]


async def test_without_a_runtime_version_discovery_is_skipped(log_stream: io.StringIO) -> None:
    assert await runtime_address(load_settings({})) == DEFAULT_RUNTIME_ADDRESS
    assert (
        "port discovery: skipped, no --runtime-version"
        in logged(log_stream, "runtime.address_defaulted")["tried"]
    )


async def test_rvm_that_never_answers_times_out_is_stopped_and_falls_back(
    rvm: Path, record: Path, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    monkeypatch.setenv("FAKE_RVM_MODE", "silent")
    settings = load_settings({"runtime_version": VERSION, "rvm_path": rvm})
    assert await runtime_address(settings, discovery_timeout=1.0) == DEFAULT_RUNTIME_ADDRESS
    tried = logged(log_stream, "runtime.address_defaulted")["tried"]
    assert tried[1] == f"port discovery with {rvm}: no runtime reported its port within 1 s"
    assert pid_is_gone(json.loads(record.read_text(encoding="utf-8"))["pid"])


async def test_runtime_of_another_version_is_refused_and_falls_back(
    runtime_port: int, rvm: Path, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    monkeypatch.setenv("FAKE_RVM_RUNTIME_PORT", str(runtime_port))
    monkeypatch.setenv("FAKE_RVM_REPORTED_VERSION", "41.0.0.1")
    settings = load_settings({"runtime_version": VERSION, "rvm_path": rvm})
    assert await runtime_address(settings, discovery_timeout=10) == DEFAULT_RUNTIME_ADDRESS
    tried = logged(log_stream, "runtime.address_defaulted")["tried"]
    assert "runtime answered for version '41.0.0.1'" in tried[1]
    assert f"wanted version '{VERSION}'" in tried[1]


async def test_rvm_exiting_with_a_failure_falls_back_without_waiting_for_the_timeout(
    rvm: Path, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> None:
    monkeypatch.setenv("FAKE_RVM_MODE", "fail")
    settings = load_settings({"runtime_version": VERSION, "rvm_path": rvm})
    assert await runtime_address(settings, discovery_timeout=30) == DEFAULT_RUNTIME_ADDRESS
    tried = logged(log_stream, "runtime.address_defaulted")["tried"]
    assert tried[1] == f"port discovery with {rvm}: the RVM exited with code 3 before any runtime answered"
