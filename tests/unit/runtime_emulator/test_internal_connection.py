"""The in-process connection the built-in broker uses: correlated requests, raw sends, pushes, leaving."""

from __future__ import annotations

import asyncio

import pytest

from adapter.emulators.runtime.errors import ActionError, RuntimeRequestError
from adapter.emulators.runtime.runtime import Runtime
from tests.unit.runtime_emulator.conftest import file_token_handshake


async def test_request_returns_the_ack_data(runtime: Runtime) -> None:
    broker = runtime.open_internal_connection("platform")

    identity = await broker.request("create-channel", {"channelName": "interop-broker-platform"})

    assert identity["uuid"] == "platform"
    assert identity["isExternal"] is False


async def test_failure_ack_raises_with_the_reason(runtime: Runtime) -> None:
    broker = runtime.open_internal_connection("platform")

    with pytest.raises(RuntimeRequestError) as caught:
        await broker.request("destroy-channel", {"channelName": "nope"})

    assert caught.value.reason == "Channel nope does not exist."


async def test_internal_provider_answers_a_websocket_client(runtime: Runtime) -> None:
    broker = runtime.open_internal_connection("platform")
    await broker.request("create-channel", {"channelName": "interop-broker-platform"})
    client = file_token_handshake(runtime, "app")
    message_id = client.send("connect-to-channel", {"channelName": "interop-broker-platform"})
    pushes = broker.pushes()

    async with asyncio.timeout(5):
        push = await anext(pushes)
    reply = push["payload"]["ackToSender"]
    reply["payload"]["payload"]["result"] = "joined"
    await broker.send_raw(reply)

    assert push["action"] == "process-channel-connection"
    assert client.sink.reply_to(message_id)["payload"]["data"]["result"] == "joined"


async def test_taken_uuid_cannot_be_opened_again(runtime: Runtime) -> None:
    file_token_handshake(runtime, "platform")

    with pytest.raises(ActionError):
        runtime.open_internal_connection("platform")


async def test_leaving_destroys_the_channels_and_ends_the_pushes(runtime: Runtime) -> None:
    broker = runtime.open_internal_connection("platform")
    await broker.request("create-channel", {"channelName": "interop-broker-platform"})
    pushes = broker.pushes()

    await broker.aclose()

    async with asyncio.timeout(5):
        assert [frame async for frame in pushes] == []
    assert runtime.channels.all_channels() == []
    with pytest.raises(RuntimeRequestError):
        await broker.request("get-version")
