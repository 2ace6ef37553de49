"""The runtime goes away under a connected Python provider and comes back on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path
from typing import Any

from adapter.openfin import (
    Backoff,
    ChannelProvider,
    ClientIdentity,
    Intent,
    InteropClient,
    RuntimeConnection,
    RuntimeConnectionState,
)
from tests.conformance.conftest import BROKER_PLATFORM_UUID, NodeScripts, runtime_emulator_process
from tests.conformance.openfin_client.support import event, eventually, result

CHANNEL = "py-service"
FAST = Backoff(initial=0.05, cap=0.5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def open_sockets() -> int | None:
    """How many sockets this process holds (Linux ``/proc``); ``None`` where that cannot be counted."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return None
    count = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


async def test_the_channel_comes_back_by_itself_and_node_clients_can_use_it_again(
    node_script: NodeScripts,
) -> None:
    port = free_port()
    tasks_before = asyncio.all_tasks()
    sockets_before = open_sockets()
    gone: list[ClientIdentity] = []
    with runtime_emulator_process("--port", str(port)) as first_runtime:
        address = first_runtime.target
        connection = RuntimeConnection(address, "py-provider", backoff=FAST)
        await connection.connect()
        provider = ChannelProvider(connection, CHANNEL, on_disconnection=gone.append)

        @provider.action("echo")
        def echo(payload: Any, caller: ClientIdentity) -> dict[str, Any]:
            return {"echoed": payload, "caller": caller.uuid}

        first_identity = await provider.create()
        before = node_script.start(
            "openfin_client/channel_client.mjs",
            {
                "address": address,
                "uuid": "node-before",
                "channelName": CHANNEL,
                "dispatches": [{"action": "echo", "payload": 1}],
            },
        )
        assert await event(before, "dispatched") == [
            {"ok": True, "result": {"echoed": 1, "caller": "node-before"}}
        ]
        # The runtime dies without a goodbye (SIGKILL): no closing handshake, the OS drops its sockets.
        first_runtime.process.kill()
        await asyncio.to_thread(first_runtime.process.wait, 10)

    before.kill()
    await connection.wait_for(RuntimeConnectionState.RECONNECTING, timeout=20)
    assert provider.connections == []
    assert [client.uuid for client in gone] == ["node-before"]

    with runtime_emulator_process("--port", str(port)) as second_runtime:
        assert second_runtime.target == address
        await connection.wait_for(RuntimeConnectionState.CONNECTED, timeout=20)
        assert provider.is_open
        assert provider.identity.channel_name == CHANNEL
        after = node_script.start(
            "openfin_client/channel_client.mjs",
            {
                "address": address,
                "uuid": "node-after",
                "channelName": CHANNEL,
                "wait": False,
                "dispatches": [{"action": "echo", "payload": 2}],
            },
        )
        outcomes = await event(after, "dispatched")
        after.send({"step": "finish"})
        await result(after)
        await connection.close()

    assert outcomes == [{"ok": True, "result": {"echoed": 2, "caller": "node-after"}}]
    assert connection.stats.reconnects == 1
    assert first_identity.channel_name == provider.channel_name
    assert asyncio.all_tasks() - tasks_before == set()
    if sockets_before is not None:
        assert open_sockets() == sockets_before


async def test_interop_registrations_are_replayed_on_the_restarted_runtimes_broker(
    node_script: NodeScripts,
) -> None:
    port = free_port()
    tasks_before = asyncio.all_tasks()
    contexts: list[dict[str, Any]] = []

    def view_interactions(intent: Intent) -> dict[str, Any]:
        return {"type": "servicenow.caseList", "for": intent.context["name"]}

    with contextlib.ExitStack() as first_runtime:
        emulator = runtime_emulator_process("--port", str(port), "--broker", BROKER_PLATFORM_UUID)
        address = first_runtime.enter_context(emulator).target
        connection = RuntimeConnection(address, "py-interop", backoff=FAST)
        await connection.connect()
        interop = InteropClient(connection, BROKER_PLATFORM_UUID, connect_timeout=20)
        await interop.connect()
        await interop.join_context_group("green")
        await interop.add_context_handler(contexts.append, "fdc3.contact")
        await interop.register_intent_handler("ViewInteractions", view_interactions)
        await asyncio.to_thread(first_runtime.close)

    await connection.wait_for(RuntimeConnectionState.RECONNECTING, timeout=20)
    assert not interop.is_connected

    with runtime_emulator_process("--port", str(port), "--broker", BROKER_PLATFORM_UUID):
        await connection.wait_for(RuntimeConnectionState.CONNECTED, timeout=20)
        await eventually(lambda: interop.is_connected)
        node = node_script.start(
            "openfin_client/interop_peer.mjs",
            {
                "address": address,
                "platformUuid": BROKER_PLATFORM_UUID,
                "startBroker": False,
                "groupId": "green",
                "context": {"type": "fdc3.contact", "name": "Jane Doe"},
                "intent": "ViewInteractions",
            },
        )
        await event(node, "ready")
        node.send({"step": "set-context"})
        await event(node, "context-set")
        node.send({"step": "fire-intent"})
        fired = await event(node, "intent-fired")
        node.send({"step": "finish"})
        await result(node)
        await eventually(lambda: len(contexts) == 1)
        await connection.close()

    assert interop.current_context_group == "green"
    assert contexts == [{"type": "fdc3.contact", "name": "Jane Doe"}]
    assert fired["ok"], fired
    assert fired["result"]["result"] == {"type": "servicenow.caseList", "for": "Jane Doe"}
    assert asyncio.all_tasks() - tasks_before == set()
