"""Restore that finishes (issue 13, findings 10 and 11).

Finding 10: the adapter's socket to the runtime drops (a proxy cuts it; the runtime and the apps stay up) and
another process, an official node-adapter app, takes the channel name before the adapter is back and holds it
for a second and a half. The adapter keeps trying to create its channel until it has it again, and reports
itself ``connected`` only then; the apps connect again and are served.

Finding 11: the runtime answers the broker connection at start-up without ``data``. The adapter logs it,
serves its channel without FDC3 (it prints READY and stays up) and tries the broker again later. A scripted
runtime over a real socket gives the malformed answer, since no real runtime would on cue.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from adapter.openfin import RuntimeConnectionState
from tests.conformance.adapter.conftest import CHANNEL, PLATFORM
from tests.conformance.node_support import start_node
from tests.integration.openfin.fake_runtime import FakeRuntime
from tests.reliability.desktop import CASES, start_fleet
from tests.reliability.inprocess import WAIT, adapter_behind_proxy, eventually
from tests.support.processes import adapter_command, running

SQUATTER = Path(__file__).resolve().parent / "squatter.mjs"
READ = {"apiEndpoint": f"{CASES}?sysparm_limit=1", "httpMethod": "GET"}

pytestmark = pytest.mark.timeout(300)


async def test_a_channel_name_held_elsewhere_for_a_while_is_taken_back_before_connected() -> None:
    async with adapter_behind_proxy() as (service, proxy, runtime, _hooks):
        fleet = await asyncio.to_thread(start_fleet, runtime.address, ["restore-app"])
        squatter = start_node(
            SQUATTER, {"address": runtime.address, "uuid": "squatter", "channelName": CHANNEL, "holdMs": 1500}
        )
        try:
            connected = await asyncio.to_thread(fleet.connect)
            assert all(result["ok"] for result in connected), connected
            await asyncio.to_thread(squatter.wait_for_event, "connected", WAIT)
            channel_when_connected: list[bool] = []
            service.runtime.on_state_change(
                lambda state: (
                    channel_when_connected.append(service.provider.is_open)
                    if state is RuntimeConnectionState.CONNECTED
                    else None
                )
            )

            proxy.cut()
            await asyncio.to_thread(squatter.wait_for_event, "holding", WAIT)
            await asyncio.to_thread(squatter.wait_for_event, "released", WAIT)

            await eventually(lambda: service.provider.is_open, "channel created again")
            await service.runtime.wait_for(RuntimeConnectionState.CONNECTED, WAIT)
            # The name was held when the adapter first tried to take it back: it tried again.
            assert service.runtime.stats.restore_failures >= 1
            assert channel_when_connected == [True]
            rejoined = await asyncio.to_thread(fleet.reconnect)
            assert all(result["ok"] for result in rejoined), rejoined
            connected = await asyncio.to_thread(fleet.connect)
            assert all(result["ok"] for result in connected), connected
            loaded = await asyncio.to_thread(fleet.load, 5, [READ])
            assert loaded["ok"] == 5, loaded
        finally:
            squatter.kill()
            fleet.close()


PROVIDER: dict[str, Any] = {
    "uuid": "servicenow-adapter",
    "name": "servicenow-adapter",
    "channelName": CHANNEL,
    "channelId": "chan-restore",
    "isExternal": True,
}


async def test_a_broker_answer_without_data_at_start_up_is_survived_and_retried(tmp_path: Path) -> None:
    runtime = FakeRuntime(tmp_path)
    runtime.answers["create-channel"] = PROVIDER
    # connect-to-channel is acked with success and no data at all.
    await runtime.start()
    command = adapter_command(
        "run", "--runtime-address", runtime.address, "--broker", PLATFORM, "--authorizer", "http"
    )
    with contextlib.ExitStack() as stack:
        try:
            adapter = await asyncio.to_thread(stack.enter_context, running(command))
            assert adapter.target == f"channel {CHANNEL}"

            def broker_connects() -> int:
                return runtime.actions().count("connect-to-channel")

            # Tried again later, not given up: and the process is still up and serving its channel.
            await eventually(lambda: broker_connects() >= 2, "the broker tried again")
            assert adapter.process.poll() is None
            assert runtime.actions().count("destroy-channel") == 0
        finally:
            await asyncio.to_thread(stack.close)
            await runtime.stop()
