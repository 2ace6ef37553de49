"""The in-process connection the built-in broker uses: correlated requests, raw sends, pushes, leaving."""

from __future__ import annotations

import asyncio

import pytest

from adapter.emulators.runtime.errors import ActionRefusedError, RuntimeRequestError
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

    with pytest.raises(ActionRefusedError):
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


async def test_requests_sent_together_are_settled_each_by_its_own_reply(runtime: Runtime) -> None:
    broker = runtime.open_internal_connection("platform")

    created, missing, version = broker.send_requests(
        [
            ("create-channel", {"channelName": "interop-broker-platform"}),
            ("destroy-channel", {"channelName": "nope"}),
            ("get-version", None),
        ]
    )

    async with asyncio.timeout(5):
        assert (await created)["channelName"] == "interop-broker-platform"
        with pytest.raises(RuntimeRequestError) as caught:
            await missing
        assert await version == runtime.settings.version
    assert (caught.value.action, caught.value.reason) == ("destroy-channel", "Channel nope does not exist.")


async def test_requests_without_a_reply_time_out_together(runtime: Runtime) -> None:
    broker = runtime.open_internal_connection("platform")
    routing = await broker.request("create-channel", {"channelName": "interop-broker-platform"})
    client = file_token_handshake(runtime, "app")
    joined = client.send("connect-to-channel", {"channelName": "interop-broker-platform"})
    pushes = broker.pushes()
    async with asyncio.timeout(5):
        await broker.send_raw((await anext(pushes))["payload"]["ackToSender"])
    endpoint = client.sink.reply_to(joined)["payload"]["data"]["endpointId"]
    target = {**client.connection.identity, "endpointId": endpoint, "providerIdentity": routing}

    unanswered = broker.send_requests(
        [("send-channel-message", {**target, "action": f"handler-{n}"}) for n in range(2)], timeout=0.05
    )

    async with asyncio.timeout(5):
        outcomes = await asyncio.gather(*unanswered, return_exceptions=True)
    assert [type(outcome) for outcome in outcomes] == [TimeoutError, TimeoutError]
    assert len(client.sink.pushes("process-channel-message")) == 2
