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
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter.bridge.service import AdapterService
from adapter.openfin import ConnectionState
from adapter.settings import load_settings
from tests.conformance.adapter.conftest import CLIENT_ID, PLATFORM
from tests.conformance.node_support import node_executable
from tests.reliability.desktop import CASES, USER, Fleet, Runtime, free_port, start_fleet, tcp_peers
from tests.reliability.proxy import CuttableProxy
from tests.support.processes import adapter_command, running

CYCLES = 3
WAIT = 30.0
READ = {"apiEndpoint": f"{CASES}?sysparm_limit=1&sysparm_fields=number", "httpMethod": "GET"}


def open_sockets() -> int | None:
    """Sockets this process holds (``/proc``); ``None`` where they cannot be counted."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return None
    count = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


def task_names() -> collections.Counter[str]:
    """The running tasks by coroutine name, this test's own excepted."""
    current = asyncio.current_task()
    return collections.Counter(
        getattr(task.get_coro(), "__qualname__", task.get_name())
        for task in asyncio.all_tasks()
        if task is not current
    )


async def eventually(condition: Any, what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.05)
    assert condition(), what


@contextlib.asynccontextmanager
async def adapter_behind_proxy() -> AsyncIterator[
    tuple[AdapterService, CuttableProxy, Runtime, httpx.AsyncClient]
]:
    node_executable()
    with contextlib.ExitStack() as processes:
        instance = processes.enter_context(
            running(adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", USER))
        )
        runtime = Runtime(free_port())
        processes.callback(runtime.close)
        runtime.start()
        proxy = CuttableProxy(runtime.port)
        await proxy.start()
        settings = load_settings(
            {
                "runtime_address": proxy.address,
                "broker": PLATFORM,
                "authorizer": "http",
                "instance_url": instance.target,
                "client_id": CLIENT_ID,
                "poll_interval": 0.5,
            }
        )
        service = AdapterService(settings)
        stop = asyncio.Event()
        serving = asyncio.create_task(service.serve(stop))
        try:
            await eventually(lambda: service.provider.is_open and service.interop is not None, "serving")
            async with httpx.AsyncClient(base_url=instance.target, timeout=WAIT) as hooks:
                yield service, proxy, runtime, hooks
        finally:
            stop.set()
            assert await asyncio.wait_for(serving, WAIT) == 0
            await proxy.close()


def instance_port(hooks: httpx.AsyncClient) -> int:
    port = hooks.base_url.port
    assert port is not None
    return port


async def served(hooks: httpx.AsyncClient, path: str) -> int:
    count: int = (await hooks.get("/__emulator/stats")).json()["requests"].get(f"GET {path}", 0)
    return count


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
            for _ in range(CYCLES):
                connected = await asyncio.to_thread(fleet.connect)
                assert all(result["ok"] for result in connected), connected
                loaded = await asyncio.to_thread(fleet.load, 20, [READ], concurrency=2)
                assert loaded == {"sent": 20, "ok": 20, "lost": 0, "errors": {}, "statuses": {"200": 20}}
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
                async with asyncio.timeout(WAIT):
                    while not await served(hooks, held):
                        await asyncio.sleep(0.02)
                proxy.cut()
                in_flight.append(await asyncio.wait_for(request, WAIT))

                await service.runtime.wait_for(ConnectionState.CONNECTED, WAIT)
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
