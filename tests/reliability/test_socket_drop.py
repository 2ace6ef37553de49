"""The adapter's own socket to the runtime drops mid-dispatch while the runtime and the apps stay up.

The adapter runs in this test's process (so that its tasks and sockets can be counted), its runtime socket
through a proxy that cuts it; the emulators and the node-adapter apps are real processes. Three times: an
app's request is held by the instance when the socket drops; the app gets an error for it, not silence;
the adapter reconnects and creates its channel again; the apps connect again and carry on; and the
adapter's tasks and sockets are the same after each round.
"""

from __future__ import annotations

import asyncio
import collections
import os
import uuid
from typing import Any

import pytest

from adapter.openfin import RuntimeConnectionState
from tests.reliability.desktop import CASES, Fleet, start_fleet, tcp_peers
from tests.reliability.inprocess import (
    WAIT,
    adapter_behind_proxy,
    eventually,
    instance_port,
    open_sockets,
    served,
    task_names,
)

CYCLES = 3
# Tasks that live for one request only: not part of the adapter's steady state.
PER_REQUEST = {
    "ChannelProvider._reply_when_done",
    "RuntimeConnection._send_queued",
    "Connection._execute_once",
}
READ = {"apiEndpoint": f"{CASES}?sysparm_limit=1&sysparm_fields=number", "httpMethod": "GET"}


@pytest.mark.slow
async def test_a_socket_dropped_mid_dispatch_fails_the_request_and_everything_comes_back() -> None:
    tasks: list[collections.Counter[str]] = []
    sockets: list[int] = []
    in_flight: list[dict[str, Any]] = []
    async with adapter_behind_proxy() as (service, proxy, runtime, hooks):
        fleet: Fleet = await asyncio.to_thread(
            start_fleet, runtime.address, ["drop-a", "drop-b"], reply_timeout=WAIT / 2
        )
        try:
            for cycle in range(CYCLES):
                connected = await asyncio.to_thread(fleet.connect)
                assert all(result["ok"] for result in connected), connected
                loaded = await asyncio.to_thread(fleet.load, 20, [READ], concurrency=2)
                assert loaded == {"sent": 20, "ok": 20, "lost": 0, "errors": {}, "statuses": {"200": 20}}
                # The replies are out; the tasks that sent them (and the instance reads behind them) end a
                # step later, so count once they have: a handler that never ends fails here, by name.
                await eventually(
                    lambda: not task_names().keys() & PER_REQUEST, "the load's request tasks ended"
                )
                tasks.append(task_names())
                peers = tcp_peers(os.getpid())
                total = open_sockets()
                if peers is not None and total is not None:
                    # One websocket through the proxy, whatever was cut before.
                    assert peers[proxy.port] == 1, peers
                    sockets.append(total - peers[instance_port(hooks)])

                held = f"{CASES}/{uuid.uuid4().hex}"
                fault = {"method": "GET", "path": held, "latency_ms": 1500, "times": 1}
                (await hooks.post("/__emulator/faults", json=fault)).raise_for_status()
                request = asyncio.create_task(
                    asyncio.to_thread(fleet.load, 1, [{"apiEndpoint": held, "httpMethod": "GET"}])
                )
                await eventually(
                    lambda: served(hooks, held),  # noqa: B023 (awaited here)
                    "the held request at the instance",
                )
                proxy.cut()
                in_flight.append(await asyncio.wait_for(request, WAIT))

                # This cycle's reconnect, restored: the state read right after the cut may still be the
                # previous cycle's ``connected``, before the adapter has noticed the drop.
                await eventually(lambda done=cycle: service.runtime.stats.reconnects > done, "reconnected")
                await service.runtime.wait_for(RuntimeConnectionState.CONNECTED, WAIT)
                await eventually(lambda: service.provider.is_open, "channel created again")
                rejoined = await asyncio.to_thread(fleet.reconnect)
                assert all(result["ok"] for result in rejoined), rejoined
        finally:
            fleet.close()
        assert service.runtime.stats.reconnects == CYCLES
        # A reply the dropped socket can no longer carry is expected, not a failed task.
        assert service.runtime.stats.errors == 0

    assert all(outcome["lost"] == 0 and outcome["ok"] == 0 for outcome in in_flight), in_flight
    assert tasks[-1] == tasks[1], (tasks[1], tasks[-1])
    if sockets:  # sockets of the instance's connection pool aside, which come and go with the load
        assert sockets[-1] <= sockets[1], sockets
