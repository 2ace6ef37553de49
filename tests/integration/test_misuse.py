"""Every misuse a newcomer meets ends with one sentence on stderr, a documented exit code and no traceback.

Each case runs the real command as a subprocess. Runtime addresses that answer badly are served by small
websocket servers in this process; a taken port is a socket this test holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from adapter.lifecycle import EXIT_INTERRUPTED, EXIT_START_FAILED, EXIT_USAGE
from tests.support.processes import ROOT, adapter_command

PROG = "servicenow-adapter"


@dataclass
class BadRuntimes:
    """Addresses of websocket servers that answer the adapter's start-up wrongly, each in its own way."""

    http403: str
    http404: str
    no_data: str
    silent: str
    """Accepts the websocket and never answers the handshake."""
    handshake_started: threading.Event


@pytest.fixture(scope="module")
def bad_runtimes() -> Iterator[BadRuntimes]:
    ready: dict[str, str] = {}
    started = threading.Event()
    handshake_started = threading.Event()
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def main() -> None:
        nonlocal stop, loop
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def refuse(status: int):  # type: ignore[no-untyped-def]
            def process_request(connection: ServerConnection, _request: Request) -> Response:
                return connection.respond(status, "not a runtime\n")

            return process_request

        async def answer_without_data(ws: ServerConnection) -> None:
            await ws.recv()
            await ws.send(json.dumps({"action": "external-authorization-response"}))
            await ws.wait_closed()

        async def say_nothing(ws: ServerConnection) -> None:
            handshake_started.set()
            await ws.wait_closed()

        async with contextlib.AsyncExitStack() as stack:
            for name, handler, process_request in (
                ("http403", say_nothing, refuse(403)),
                ("http404", say_nothing, refuse(404)),
                ("no_data", answer_without_data, None),
                ("silent", say_nothing, None),
            ):
                server = await stack.enter_async_context(
                    serve(handler, "127.0.0.1", 0, process_request=process_request)
                )
                port = next(iter(server.sockets)).getsockname()[1]
                ready[name] = f"ws://127.0.0.1:{port}"
            started.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(30)
    yield BadRuntimes(**ready, handshake_started=handshake_started)
    assert loop is not None
    assert stop is not None
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)


@pytest.fixture(scope="module")
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        yield taken.getsockname()[1]


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _quiet_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICENOW_ADAPTER_")}
    # Warnings (such as "every app may use the channel") are log lines, not the failure: keep them out.
    env["SERVICENOW_ADAPTER_LOG_LEVEL"] = "error"
    return env


def assert_one_sentence(done: subprocess.CompletedProcess[str], code: int, expected: str) -> None:
    """stderr is one line from the command naming the problem; the exit code is ``code``."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(PROG), lines[0]
    assert expected in lines[0], lines[0]
    assert done.returncode == code, done.stderr


MISUSES: list[tuple[str, list[str], int, str]] = [
    ("mistyped command", ["rnu"], EXIT_USAGE, "unknown command 'rnu' (did you mean run?)"),
    (
        "mistyped emulator",
        ["emulate", "runtme"],
        EXIT_USAGE,
        "unknown command 'runtme' (did you mean runtime?)",
    ),
    ("mistyped flag", ["run", "--pol-interval", "5"], EXIT_USAGE, "did you mean --poll-interval?"),
    ("mistyped demo flag", ["demo", "--keep-runing"], EXIT_USAGE, "did you mean --keep-running?"),
    # Abbreviations would let the launcher's extraArgs override the flags it reserves for itself.
    ("abbreviated --token", ["--tok", "x"], EXIT_USAGE, "unknown flag --tok (did you mean --token?)"),
    (
        "abbreviated --runtime-address",
        ["--runtime-a", "ws://127.0.0.1:1"],
        EXIT_USAGE,
        "unknown flag --runtime-a",
    ),
    ("abbreviated --uuid", ["run", "--uui", "x"], EXIT_USAGE, "unknown flag --uui"),
    ("abbreviated --channel", ["run", "--chan", "x"], EXIT_USAGE, "unknown flag --chan"),
    (
        "runtime emulator port -1",
        ["emulate", "runtime", "--port", "-1"],
        EXIT_USAGE,
        "port -1 is out of range",
    ),
    (
        "ServiceNow emulator port too high",
        ["emulate", "servicenow", "--port", "65536"],
        EXIT_USAGE,
        "port 65536 is out of range",
    ),
    ("browser port too high", ["run", "--browser-port", "70000"], EXIT_USAGE, "port 70000 is out of range"),
    (
        "runtime address port too high",
        ["run", "--runtime-address", "ws://127.0.0.1:70000"],
        EXIT_USAGE,
        "the port must be a number from 1 to 65535",
    ),
    ("port not a number", ["emulate", "runtime", "--port", "x"], EXIT_USAGE, "expected a port number"),
    (
        "verbose on demo",
        ["demo", "--log-level", "verbose"],
        EXIT_USAGE,
        "--log-level does not take 'verbose'",
    ),
    (
        "verbose on the runtime emulator",
        ["emulate", "runtime", "--log-level", "verbose"],
        EXIT_USAGE,
        "--log-level does not take 'verbose'",
    ),
    (
        "verbose on the ServiceNow emulator",
        ["emulate", "servicenow", "--log-level", "verbose"],
        EXIT_USAGE,
        "--log-level does not take 'verbose'",
    ),
    ("verbose on run", ["run", "--log-level", "verbose"], EXIT_USAGE, "--log-level does not take 'verbose'"),
    ("bad setting value", ["run", "--poll-interval", "0"], EXIT_USAGE, "poll_interval (--poll-interval"),
    ("missing config file", ["run", "--config", "/nonexistent/a.toml"], EXIT_USAGE, "config file not found"),
    (
        "runtime address answering HTTP 403",
        ["run", "--runtime-address", "{http403}"],
        EXIT_START_FAILED,
        "answered HTTP 403 instead of opening a websocket",
    ),
    (
        "runtime address answering HTTP 404",
        ["run", "--runtime-address", "{http404}"],
        EXIT_START_FAILED,
        "answered HTTP 404 instead of opening a websocket",
    ),
    (
        "runtime start-up answer without data",
        ["run", "--runtime-address", "{no_data}"],
        EXIT_START_FAILED,
        "answered the start-up handshake with what we cannot use",
    ),
    (
        "nothing listening at the runtime address",
        ["run", "--runtime-address", "ws://127.0.0.1:{closed_port}"],
        EXIT_START_FAILED,
        "nothing is listening at ws://127.0.0.1:",
    ),
    (
        "busy browser port",
        ["run", "--authorizer", "browser", "--browser-port", "{taken_port}", "--runtime-address", "{silent}"],
        EXIT_START_FAILED,
        "--browser-port {taken_port} is not free on 127.0.0.1",
    ),
    (
        "runtime emulator on a taken port",
        ["emulate", "runtime", "--port", "{taken_port}"],
        EXIT_START_FAILED,
        "cannot listen on 127.0.0.1:{taken_port}",
    ),
    (
        "ServiceNow emulator on a taken port",
        ["emulate", "servicenow", "--port", "{taken_port}"],
        EXIT_START_FAILED,
        "cannot listen on 127.0.0.1:{taken_port}",
    ),
]


@pytest.mark.parametrize(
    ("args", "code", "expected"), [case[1:] for case in MISUSES], ids=[c[0] for c in MISUSES]
)
def test_misuse_is_one_sentence_and_an_exit_code(
    args: list[str], code: int, expected: str, bad_runtimes: BadRuntimes, taken_port: int, closed_port: int
) -> None:
    values = {
        "http403": bad_runtimes.http403,
        "http404": bad_runtimes.http404,
        "no_data": bad_runtimes.no_data,
        "silent": bad_runtimes.silent,
        "taken_port": str(taken_port),
        "closed_port": str(closed_port),
    }
    argv = [arg.format(**values) for arg in args]
    done = subprocess.run(
        adapter_command(*argv),
        cwd=ROOT,
        env=_quiet_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_one_sentence(done, code, expected.format(**values))


def test_a_good_command_line_is_not_refused_positive_control(bad_runtimes: BadRuntimes) -> None:
    # The same parser accepts the whole flags the cases above abbreviate or mistype: it reaches the runtime.
    done = subprocess.run(
        adapter_command(
            "run", "--runtime-address", bad_runtimes.http404, "--token", "x", "--uuid", "u", "--channel", "c"
        ),
        cwd=ROOT,
        env=_quiet_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_one_sentence(done, EXIT_START_FAILED, "answered HTTP 404")


def _interrupt_when(process: subprocess.Popen[str], ready: threading.Event | Path) -> None:
    # Waits on the event the fake server sets, or for the file the fake RVM writes; pytest-timeout bounds it.
    while not (ready.is_set() if isinstance(ready, threading.Event) else ready.exists()):
        assert process.poll() is None, process.communicate()
        if isinstance(ready, threading.Event):
            ready.wait(0.05)
        else:
            threading.Event().wait(0.05)
    process.send_signal(signal.SIGINT)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_while_the_runtime_connection_opens_stops_at_once(bad_runtimes: BadRuntimes) -> None:
    process = subprocess.Popen(
        adapter_command("run", "--runtime-address", bad_runtimes.silent),
        cwd=ROOT,
        env=_quiet_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _interrupt_when(process, bad_runtimes.handshake_started)
    stdout, stderr = process.communicate(timeout=30)
    assert_one_sentence(
        subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr),
        EXIT_INTERRUPTED,
        "stopped before start-up finished",
    )


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script as the RVM")
def test_ctrl_c_during_port_discovery_stops_at_once_and_rvm_path_keeps_its_dot_slash(tmp_path: Path) -> None:
    # ./rvm.sh must run from the current folder, not be looked up on PATH: it signals that it started.
    rvm = tmp_path / "rvm.sh"
    rvm.write_text('#!/bin/sh\ntouch "$(dirname "$0")/rvm-started"\nexec sleep 60\n', encoding="utf-8")
    rvm.chmod(0o755)
    process = subprocess.Popen(
        adapter_command("run", "--runtime-version", "1.2.3", "--rvm-path", "./rvm.sh"),
        cwd=tmp_path,
        env=_quiet_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _interrupt_when(process, tmp_path / "rvm-started")
    stdout, stderr = process.communicate(timeout=30)
    assert_one_sentence(
        subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr),
        EXIT_INTERRUPTED,
        "stopped before start-up finished",
    )


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_during_demo_start_up_stops_everything_without_a_traceback() -> None:
    process = subprocess.Popen(
        adapter_command("demo"),
        cwd=ROOT,
        env=_quiet_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    instance = ""
    for line in process.stdout:
        if line.strip().startswith("instance:"):
            instance = line.split()[1]
        if "Starting an OpenFin runtime" in line:
            break
    assert instance.startswith("https://127.0.0.1:")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert_one_sentence(
        subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr),
        EXIT_INTERRUPTED,
        "stopped before start-up finished",
    )
    # The ServiceNow emulator it had started is gone with it.
    port = int(instance.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
