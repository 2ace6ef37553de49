"""Launched app assets: real child processes, their exit event, and lifetimes bound to the launcher."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapter.emulators.runtime.auth import TokenFiles
from adapter.emulators.runtime.runtime import Runtime, RuntimeSettings
from tests.support.waiting import eventually
from tests.unit.runtime_emulator.conftest import Party, file_token_handshake

WAIT = 10.0


@pytest.fixture
async def asset_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime whose asset ``py`` is this Python interpreter."""
    core = Runtime(RuntimeSettings(), token_files=TokenFiles(tmp_path), assets={"py": f'"{sys.executable}"'})
    try:
        yield core
    finally:
        await core.aclose()


async def _launch(party: Party, **options: Any) -> dict[str, Any]:
    message_id = party.send("launch-external-process", {"alias": "py", **options})
    await eventually(
        lambda: any(f.get("correlationId") == message_id for f in party.sink.frames),
        f"the reply to {message_id}",
        timeout=WAIT,
    )
    reply: dict[str, Any] = party.sink.reply_to(message_id)["payload"]
    return reply


async def test_exit_is_reported_to_the_launchers_window(asset_runtime: Runtime) -> None:
    launcher = file_token_handshake(asset_runtime, "launcher")
    launcher.request(
        "subscribe-to-desktop-event",
        {"topic": "window", "type": "external-process-exited", "uuid": "launcher", "name": "launcher"},
    )

    reply = await _launch(launcher, arguments='-c "import sys; sys.exit(7)"')
    await eventually(lambda: launcher.sink.pushes("process-desktop-event"), "the exit event", timeout=WAIT)

    [event] = launcher.sink.pushes("process-desktop-event")
    assert (event["processUuid"], event["exitCode"]) == (reply["data"]["uuid"], 7)


async def test_application_lifetime_child_ends_with_its_launcher(asset_runtime: Runtime) -> None:
    launcher = file_token_handshake(asset_runtime, "launcher")
    reply = await _launch(launcher, arguments='-c "import time; time.sleep(60)"', lifetime="application")
    assert asset_runtime.processes.running == [reply["data"]["uuid"]]

    launcher.close()

    await eventually(lambda: not asset_runtime.processes.running, "the child ended", timeout=WAIT)


async def test_launch_by_path_is_refused(asset_runtime: Runtime) -> None:
    launcher = file_token_handshake(asset_runtime, "launcher")

    reply = await _launch(launcher, alias=None, path=sys.executable)

    assert reply["success"] is False
    assert "by alias only" in reply["reason"]
