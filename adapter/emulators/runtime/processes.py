"""``launch-external-process``: app assets started as real child processes, as the RVM would start them.

An asset alias maps to a local command line (``--asset ALIAS=COMMAND``); a launch by alias starts
``COMMAND <arguments>``. Children with ``lifetime`` ``"application"`` or ``"window"`` end when the connection
that launched them goes away; every exit is reported as the launcher's window event
``external-process-exited {processUuid, exitCode}`` (docs/emulators/runtime.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import sys
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

import structlog

from adapter.emulators.runtime.client_link import ClientLink
from adapter.emulators.runtime.errors import ActionRefusedError
from adapter.emulators.runtime.events import DesktopEvents

log = structlog.get_logger(__name__)

BOUND_LIFETIMES = frozenset({"application", "window"})
TERMINATE_GRACE = 5.0


def split_command_line(text: str, *, windows: bool = os.name == "nt") -> list[str]:
    """Split a command line into arguments as the platform's shell conventions do.

    POSIX: ``shlex`` rules (quotes, backslash escapes). Windows: the ``CommandLineToArgvW`` rules, where
    backslashes are literal except before a double quote, so that ``C:\\Program Files\\x.exe`` survives.
    """
    if not windows:
        return shlex.split(text)
    return _split_windows(text)


def _split_windows(text: str) -> list[str]:
    args: list[str] = []
    current: list[str] = []
    in_arg = in_quotes = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            end = i
            while end < len(text) and text[end] == "\\":
                end += 1
            count = end - i
            if end < len(text) and text[end] == '"':
                current.append("\\" * (count // 2))
                if count % 2:
                    current.append('"')
                    end += 1
            else:
                current.append("\\" * count)
            in_arg, i = True, end
        elif char == '"':
            in_quotes, in_arg, i = not in_quotes, True, i + 1
        elif char in " \t" and not in_quotes:
            if in_arg:
                args.append("".join(current))
            current, in_arg, i = [], False, i + 1
        else:
            current.append(char)
            in_arg, i = True, i + 1
    if in_arg:
        args.append("".join(current))
    return args


@dataclass(eq=False)
class ExternalProcess:
    """A child started for a connection."""

    uuid: str
    process: asyncio.subprocess.Process
    launcher: ClientLink
    lifetime: str | None
    watcher: asyncio.Task[None] | None = field(default=None)


class ExternalProcesses:
    """Starts asset commands, watches their exit, and ends bound children with their launcher."""

    def __init__(self, assets: dict[str, str], events: DesktopEvents) -> None:
        self._assets = dict(assets)
        self._events = events
        self._children: dict[str, ExternalProcess] = {}

    @property
    def running(self) -> list[str]:
        """The uuids of children that have not exited yet."""
        return [uuid for uuid, child in self._children.items() if child.process.returncode is None]

    async def launch(self, launcher: ClientLink, payload: dict[str, Any]) -> dict[str, Any]:
        """Start the asset named by ``alias`` with ``arguments``; returns ``{uuid}``."""
        alias = payload.get("alias")
        if not isinstance(alias, str) or not alias:
            if payload.get("path") or payload.get("target"):
                raise ActionRefusedError(
                    "Failed to launch external process: the emulator launches app assets by alias only "
                    "(map one with --asset ALIAS=COMMAND)"
                )
            raise ActionRefusedError("Failed to launch external process: no alias given")
        command = self._assets.get(alias)
        if command is None:
            raise ActionRefusedError(f"Failed to launch external process: unknown app asset alias: {alias}")
        arguments = payload.get("arguments")
        argv = split_command_line(command)
        if isinstance(arguments, str) and arguments.strip():
            argv += split_command_line(os.path.expandvars(arguments))
        cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
        requested_uuid = payload.get("uuid")
        process_uuid = requested_uuid if isinstance(requested_uuid, str) else str(uuidlib.uuid4())
        if process_uuid in self._children:
            raise ActionRefusedError(
                f"Failed to launch external process: uuid {process_uuid} is already running"
            )
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=_child_output(),
                stderr=_child_output(),
                cwd=cwd,
            )
        except OSError as exc:
            raise ActionRefusedError(f"Failed to launch external process: {exc}") from None
        lifetime = payload.get("lifetime") if isinstance(payload.get("lifetime"), str) else None
        child = ExternalProcess(process_uuid, process, launcher, lifetime)
        child.watcher = asyncio.create_task(self._watch(child))
        self._children[process_uuid] = child
        log.info("process.launched", alias=alias, uuid=process_uuid, pid=process.pid, lifetime=lifetime)
        return {"uuid": process_uuid}

    async def terminate(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``terminate-external-process {uuid, timeout}``: ask the child to end, kill it after ``timeout``."""
        child = self._children.get(str(payload.get("uuid")))
        if child is None or child.process.returncode is not None:
            raise ActionRefusedError(f"Process with uuid {payload.get('uuid')} is not running")
        timeout = payload.get("timeout")
        grace = float(timeout) / 1000 if isinstance(timeout, int | float) and timeout > 0 else TERMINATE_GRACE
        result = await _end(child.process, grace)
        return {"result": result}

    def drop(self, connection: ClientLink) -> None:
        """The launcher went away: end its children whose lifetime is bound to it."""
        for child in self._children.values():
            bound = child.launcher is connection and child.lifetime in BOUND_LIFETIMES
            if bound and child.process.returncode is None:
                log.info("process.ending_with_launcher", uuid=child.uuid, pid=child.process.pid)
                _signal_end(child.process)

    async def aclose(self) -> None:
        """At shutdown end every child still running, whatever its lifetime, and stop watching."""
        children = list(self._children.values())
        await asyncio.gather(*(_end(c.process, TERMINATE_GRACE) for c in children))
        await asyncio.gather(*(c.watcher for c in children if c.watcher is not None), return_exceptions=True)

    async def _watch(self, child: ExternalProcess) -> None:
        exit_code = await child.process.wait()
        log.info("process.exited", uuid=child.uuid, exit_code=exit_code)
        if self._children.get(child.uuid) is child:
            del self._children[child.uuid]
        launcher = child.launcher
        if launcher.uuid is not None:
            self._events.emit(
                "window",
                "external-process-exited",
                {"processUuid": child.uuid, "exitCode": exit_code},
                uuid=launcher.uuid,
                name=launcher.uuid,
            )


def _child_output() -> int:
    # Children write where the emulator logs (stderr), never onto stdout, which carries the READY line.
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return asyncio.subprocess.DEVNULL


def _signal_end(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.terminate()


async def _end(process: asyncio.subprocess.Process, grace: float) -> str:
    if process.returncode is not None:
        return "clean"
    _signal_end(process)
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return "killed"
    return "terminated"
