"""``ChannelProvider`` routing rules over a real socket, with the runtime's pushes scripted by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapter.openfin import ChannelProvider, ClientIdentity, RuntimeConnection
from tests.integration.openfin.fake_runtime import FakeRuntime, eventually

PROVIDER = {"uuid": "py", "name": "py", "channelName": "svc", "channelId": "chan-1", "isExternal": True}
CLIENT = {
    "uuid": "app",
    "name": "app",
    "endpointId": "e-1",
    "isExternal": True,
    "entityType": "external connection",
}


def ack_to_sender(correlation_id: int) -> dict[str, Any]:
    return {
        "action": "send-channel-result",
        "payload": {
            "correlationId": correlation_id,
            "destinationToken": CLIENT,
            "payload": {},
            "success": True,
        },
    }


def connection_push(correlation_id: int, channel_id: str = "chan-1") -> dict[str, Any]:
    return {
        "action": "process-channel-connection",
        "payload": {
            "ackToSender": ack_to_sender(correlation_id),
            "providerIdentity": {**PROVIDER, "channelId": channel_id},
            "clientIdentity": CLIENT,
            "payload": None,
        },
    }


def message_push(correlation_id: int, action: str, target: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": "process-channel-message",
        "payload": {
            "ackToSender": ack_to_sender(correlation_id),
            "providerIdentity": PROVIDER,
            "action": action,
            "senderIdentity": CLIENT,
            "payload": {"x": 1},
            "intendedTargetIdentity": target,
        },
    }


def reply_to(runtime: FakeRuntime, correlation_id: int) -> dict[str, Any] | None:
    for frame in runtime.received:
        if frame["action"] == "send-channel-result" and frame["payload"]["correlationId"] == correlation_id:
            body: dict[str, Any] = frame["payload"]
            return body
    return None


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[FakeRuntime]:
    fake = FakeRuntime(tmp_path)
    fake.answers["create-channel"] = PROVIDER
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def provider(runtime: FakeRuntime) -> AsyncIterator[ChannelProvider]:
    async with RuntimeConnection(runtime.address, "py") as connection:
        provider = ChannelProvider(connection, "svc")
        provider.register("echo", lambda payload, caller: {"payload": payload, "caller": caller.uuid})
        await provider.create()
        yield provider


async def test_an_action_from_a_client_that_never_connected_is_refused(
    runtime: FakeRuntime, provider: ChannelProvider
) -> None:
    await runtime.push(message_push(7, "echo", {"channelId": "chan-1"}))
    await eventually(lambda: reply_to(runtime, 7) is not None)

    reply = reply_to(runtime, 7)
    assert reply is not None
    assert reply["success"] is False
    assert reply["reason"].startswith(
        "This action was sent from a client that is not connected to the provider."
    )


async def test_a_connected_client_gets_its_result_through_the_echoed_ack(
    runtime: FakeRuntime, provider: ChannelProvider
) -> None:
    await runtime.push(connection_push(3))
    await eventually(lambda: reply_to(runtime, 3) is not None)
    await runtime.push(message_push(4, "echo", {"channelId": "chan-1"}))
    await eventually(lambda: reply_to(runtime, 4) is not None)

    assert reply_to(runtime, 3) == {
        "correlationId": 3,
        "destinationToken": CLIENT,
        "payload": {},
        "success": True,
    }
    assert reply_to(runtime, 4) == {
        "correlationId": 4,
        "destinationToken": CLIENT,
        "payload": {"result": {"payload": {"x": 1}, "caller": "app"}},
        "success": True,
    }
    assert provider.connections == [ClientIdentity.model_validate(CLIENT)]


async def test_a_connection_to_a_channel_we_do_not_hold_is_answered_not_left_hanging(
    runtime: FakeRuntime, provider: ChannelProvider
) -> None:
    await runtime.push(connection_push(5, channel_id="gone-channel"))
    await eventually(lambda: reply_to(runtime, 5) is not None)

    reply = reply_to(runtime, 5)
    assert reply is not None
    assert (reply["success"], reply["reason"]) == (False, 'Channel "svc" has been destroyed.')


async def test_a_message_for_an_endpoint_we_do_not_hold_is_answered_not_left_hanging(
    runtime: FakeRuntime, provider: ChannelProvider
) -> None:
    await runtime.push(message_push(6, "echo", {"endpointId": "someone-else"}))
    await eventually(lambda: reply_to(runtime, 6) is not None)

    reply = reply_to(runtime, 6)
    assert reply is not None
    assert reply["success"] is False
    assert reply["reason"].endswith("endpointId: someone-else no longer connected.")


async def test_a_client_disconnected_event_removes_the_client(
    runtime: FakeRuntime, provider: ChannelProvider
) -> None:
    await runtime.push(connection_push(3))
    await eventually(lambda: len(provider.connections) == 1)

    await runtime.push(
        {
            "action": "process-desktop-event",
            "payload": {
                "topic": "channel",
                "type": "client-disconnected",
                **CLIENT,
                "channelName": "svc",
                "channelId": "chan-1",
            },
        }
    )

    await eventually(lambda: provider.connections == [])


async def test_closing_the_connection_destroys_the_channel_before_the_socket_closes(
    runtime: FakeRuntime,
) -> None:
    async with RuntimeConnection(runtime.address, "py") as connection:
        await ChannelProvider(connection, "svc").create()

    assert runtime.actions()[-1] == "destroy-channel"
    assert runtime.received[-1]["payload"] == {"channelName": "svc"}


async def test_a_client_connecting_right_behind_the_create_ack_is_served(runtime: FakeRuntime) -> None:
    # A runtime may push a waiting client's connection in the same breath as the create-channel ack.
    runtime.follow_ups["create-channel"] = [connection_push(9)]
    async with RuntimeConnection(runtime.address, "py") as connection:
        provider = ChannelProvider(connection, "svc")
        await provider.create()
        await eventually(lambda: reply_to(runtime, 9) is not None)

        reply = reply_to(runtime, 9)
        assert reply is not None
        assert reply["success"] is True
        assert provider.connections == [ClientIdentity.model_validate(CLIENT)]
