"""A whole desktop for the reliability and security suites, every part a real process.

``desktop()`` starts the ServiceNow emulator (``--auto-login beth.anglin``), the runtime emulator on a fixed
port (so that it can be killed and started again where the adapter looks for it) with the built-in broker,
and ``servicenow-adapter run --authorizer http`` against both. Apps are official node-adapter apps
(``tests/conformance/adapter/app.mjs`` through the conformance ``App`` driver). The emulator's hooks
(faults, clock, tokens, stats) are reached over HTTP, as another process would.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conformance.adapter.conftest import CHANNEL, CLIENT_ID, PLATFORM, AdapterStack, App
from tests.conformance.node_support import NodeProcess, node_executable, start_node
from tests.support.processes import RunningCommand, adapter_command, running
from tests.support.waiting import eventually_blocking

USER = "beth.anglin"
CASES = "/api/now/table/sn_customerservice_case"
WAIT = 30.0
LOAD_SCRIPT = Path(__file__).resolve().parent / "load.mjs"


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def open_files(pid: int) -> int | None:
    """How many file descriptors process ``pid`` holds (``/proc``); ``None`` where that cannot be counted."""
    fds = Path(f"/proc/{pid}/fd")
    if not fds.is_dir():
        return None
    return sum(1 for _ in fds.iterdir())


def tcp_peers(pid: int) -> collections.Counter[int] | None:
    """The TCP sockets process ``pid`` holds, counted by the remote port they are connected to (Linux
    ``/proc``); ``None`` where that cannot be read. Listening sockets count under port 0."""
    fds = Path(f"/proc/{pid}/fd")
    if not fds.is_dir():
        return None
    inodes: set[str] = set()
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    peers: collections.Counter[int] = collections.Counter()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text(encoding="ascii").splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[9] in inodes:
                    peers[int(fields[2].rsplit(":", 1)[1], 16)] += 1
    return peers


def resident_kib(pid: int) -> int | None:
    """The resident set size of ``pid`` in KiB (``/proc``); ``None`` where that cannot be read."""
    status = Path(f"/proc/{pid}/status")
    if not status.is_file():
        return None
    for line in status.read_text(encoding="ascii", errors="replace").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def eventually(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """``tests.support.waiting.eventually_blocking`` with this suite's bound (whole processes are slower)."""
    eventually_blocking(condition, what, timeout=timeout)


class Runtime:
    """The runtime emulator on a fixed port: killed (SIGKILL) and started again where the adapter looks."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.address = f"ws://127.0.0.1:{port}"
        self._stack = contextlib.ExitStack()
        self._process: RunningCommand | None = None

    def start(self) -> None:
        """Start the runtime (with the built-in broker) and wait for its READY line."""
        command = adapter_command("emulate", "runtime", "--port", str(self.port), "--broker", PLATFORM)
        self._process = self._stack.enter_context(running(command))
        assert self._process.target == self.address

    def kill(self) -> None:
        """The runtime dies without a goodbye: the OS drops every socket to it."""
        if self._process is not None:
            self._process.process.kill()
            self._process.process.wait(timeout=10)
            self._process = None
        self._stack.close()

    def close(self) -> None:
        """Stop it cleanly if it runs."""
        self._stack.close()


def start_fleet(address: str, uuids: list[str], *, reply_timeout: float = WAIT) -> Fleet:
    """Start many apps in one node process (``load.mjs``) on the runtime at ``address``."""
    node = start_node(
        LOAD_SCRIPT,
        {
            "address": address,
            "channelName": CHANNEL,
            "apps": uuids,
            "replyTimeoutMs": int(reply_timeout * 1000),
        },
        adapter_peer=True,
    )
    fleet = Fleet(node)
    node.wait_for_event("ready", timeout=WAIT + len(uuids))
    return fleet


@dataclass
class Fleet:
    """Many node-adapter apps in one process, driven command by command."""

    node: NodeProcess
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def command(self, op: str, *, timeout: float = WAIT, **fields: Any) -> Any:
        """Send one command and return its result (``AssertionError`` with the script's error)."""
        command_id = next(self._ids)
        self.node.send({"op": op, "id": command_id, **fields})
        while True:
            answer = self.node.wait_for_event("reply", timeout=timeout)
            if answer["id"] == command_id:
                assert answer["ok"], answer["error"]
                return answer["result"]

    def connect(self) -> list[dict[str, Any]]:
        """Every app dispatches ``servicenow.connect``: ``[{ok, value | error}]`` in app order."""
        results: list[dict[str, Any]] = self.command("connect")
        return results

    def load(
        self, total: int, requests: list[dict[str, Any]], *, concurrency: int = 1, timeout: float = 600.0
    ) -> dict[str, Any]:
        """``total`` requests spread over the apps: ``{sent, ok, lost, errors, statuses}``."""
        outcome: dict[str, Any] = self.command(
            "load", total=total, requests=requests, concurrency=concurrency, timeout=timeout
        )
        return outcome

    def reconnect(self) -> list[dict[str, Any]]:
        """Every app connects to the channel again (after the provider went away): ``[{ok, error?}]``."""
        results: list[dict[str, Any]] = self.command("reconnect", timeout=WAIT * 2)
        return results

    def events(self) -> dict[str, list[dict[str, Any]]]:
        """The adapter's events each app received since the last call, by app uuid."""
        events: dict[str, list[dict[str, Any]]] = self.command("events")
        return events

    def close(self) -> None:
        """End the node process (every app's connection drops)."""
        self.node.kill()


@dataclass
class Desktop:
    """The running desktop: apps, the instance's hooks, and the runtime that can be killed and restarted."""

    instance: str
    runtime: Runtime
    adapter: RunningCommand
    hooks: httpx.Client
    _apps: AdapterStack = field(repr=False)

    @property
    def pid(self) -> int:
        """The adapter's process id."""
        return self.adapter.process.pid

    def app(self, uuid: str) -> App:
        """Start a node-adapter app and wait until its channel connection is made."""
        return self._apps.app(uuid)

    def refused_app(self, uuid: str) -> dict[str, Any]:
        """Start an app the adapter should refuse; the error node-adapter gave it."""
        return self._apps.refused_app(uuid)

    def close_apps(self) -> None:
        """Kill every app started so far."""
        self._apps.close_apps()

    def adapter_alive(self) -> bool:
        """Whether the adapter process is still running."""
        return self.adapter.process.poll() is None

    # -- the instance's hooks ---------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Requests the instance served, by ``METHOD path``."""
        requests: dict[str, int] = self.hooks.get("/__emulator/stats").raise_for_status().json()["requests"]
        return requests

    def tokens(self) -> dict[str, list[str]]:
        """The instance's live access and refresh tokens."""
        tokens: dict[str, list[str]] = self.hooks.get("/__emulator/tokens").raise_for_status().json()
        return tokens

    def add_fault(self, **rule: Any) -> None:
        """One fault rule (``adapter.emulators.servicenow.faults.FaultRule``)."""
        self.hooks.post("/__emulator/faults", json=rule).raise_for_status()

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.hooks.delete("/__emulator/faults").raise_for_status()

    def advance_clock(self, seconds: float) -> None:
        """Move the instance's clock forward (token expiry without sleeping)."""
        self.hooks.post("/__emulator/clock", json={"advance": seconds}).raise_for_status()

    def count(self, query: str) -> int:
        """How many cases match an encoded query, asked as the admin."""
        response = self.hooks.get(
            CASES, params={"sysparm_query": query, "sysparm_fields": "sys_id"}, auth=("admin", "admin")
        ).raise_for_status()
        return len(response.json()["result"])

    def fleet(self, uuids: list[str], *, reply_timeout: float = WAIT) -> Fleet:
        """Start many apps in one node process (``load.mjs``); the caller closes the fleet."""
        return start_fleet(self.runtime.address, uuids, reply_timeout=reply_timeout)


@contextlib.contextmanager
def desktop(
    *adapter_args: str,
    log_json: bool = False,
    instance_args: Sequence[str] = (),
    instance_host: str | None = None,
    adapter_env: Mapping[str, str] | None = None,
    hooks_ca: Path | None = None,
) -> Iterator[Desktop]:
    """Both emulators and the adapter; ``adapter_args`` are extra ``run`` flags.

    ``instance_args`` are extra ``emulate servicenow`` flags (``--tls``); ``instance_host`` is the host name
    the adapter is told to use for the instance instead of 127.0.0.1 (one only a proxy can resolve);
    ``adapter_env`` is added to the adapter's environment; ``hooks_ca`` is the CA the test's own client
    trusts for an https emulator (read once the emulator has written it).
    """
    node_executable()
    with contextlib.ExitStack() as stack:
        instance = stack.enter_context(
            running(
                adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", USER, *instance_args)
            )
        )
        told = (
            instance.target if instance_host is None else instance.target.replace("127.0.0.1", instance_host)
        )
        runtime = Runtime(free_port())
        stack.callback(runtime.close)
        runtime.start()
        flags = [
            "run",
            "--runtime-address",
            runtime.address,
            "--broker",
            PLATFORM,
            "--authorizer",
            "http",
            "--instance-url",
            told,
            "--client-id",
            CLIENT_ID,
            "--poll-interval",
            "0.5",
            # Sign out as the last app leaves, as these tests assert; test_sign_out_grace.py sets a grace.
            "--sign-out-grace",
            "0",
            *(["--log-json"] if log_json else []),
            *adapter_args,
        ]
        adapter = stack.enter_context(running(adapter_command(*flags), env=dict(adapter_env or {})))
        assert adapter.target == f"channel {CHANNEL}"
        hooks = stack.enter_context(
            httpx.Client(
                base_url=instance.target,
                timeout=WAIT,
                verify=ssl.create_default_context(cafile=str(hooks_ca)) if hooks_ca else True,
            )
        )
        apps = AdapterStack(runtime=runtime.address, instance=instance.target, adapter=adapter)
        stack.callback(apps.close_apps)
        yield Desktop(instance=instance.target, runtime=runtime, adapter=adapter, hooks=hooks, _apps=apps)
