"""The built-in broker as a channel provider on the runtime core, driven with raw frames (no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapter.emulators.runtime.auth import TokenFiles
from adapter.emulators.runtime.broker import Broker, start_broker
from adapter.emulators.runtime.runtime import Runtime, RuntimeSettings
from tests.support.waiting import eventually
from tests.unit.runtime_emulator.conftest import Party, file_token_handshake

PLATFORM = "unit-platform"
CHANNEL = f"interop-broker-{PLATFORM}"
WAIT = 2.0
INSTRUMENT = {"type": "fdc3.instrument", "id": {"ticker": "AAPL"}}


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    core = Runtime(RuntimeSettings(), token_files=TokenFiles(tmp_path))
    try:
        yield core
    finally:
        await core.aclose()


@pytest.fixture
async def broker(runtime: Runtime) -> AsyncIterator[Broker]:
    started = start_broker(runtime, PLATFORM)
    await started.wait_ready()
    try:
        yield started
    finally:
        await started.aclose()


async def reply(party: Party, message_id: int) -> dict[str, Any]:
    """The payload of the ack to ``message_id``, once the broker task has produced it."""

    def ack() -> dict[str, Any] | None:
        return next((f for f in party.sink.frames if f.get("correlationId") == message_id), None)

    await eventually(ack, f"the ack to {message_id}", timeout=WAIT)
    frame = ack()
    assert frame is not None
    payload: dict[str, Any] = frame["payload"]
    return payload


async def pushed(party: Party, count: int = 1) -> list[dict[str, Any]]:
    """The first ``count`` channel messages the broker pushed to ``party``."""
    await eventually(
        lambda: len(party.sink.pushes("process-channel-message")) >= count, f"{count} pushes", timeout=WAIT
    )
    return party.sink.pushes("process-channel-message")[:count]


async def join_broker(runtime: Runtime, uuid: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Connect ``uuid`` to the broker channel; returns its routingInfo (and keeps the party in it)."""
    party = file_token_handshake(runtime, uuid)
    answer = await reply(
        party, party.send("connect-to-channel", {"channelName": CHANNEL, "payload": payload})
    )
    assert answer["success"], answer
    return {"party": party, "routing": answer["data"]}


async def dispatch(client: dict[str, Any], action: str, payload: Any = None) -> dict[str, Any]:
    """A client -> broker channel dispatch; returns the reply payload ``{success, data|reason}``."""
    party: Party = client["party"]
    routing = client["routing"]
    message = {**routing, "providerIdentity": routing, "action": action, "payload": payload}
    return await reply(party, party.send("send-channel-message", message))


def answer(party: Party, push: dict[str, Any], result: Any = None, *, with_result: bool = True) -> None:
    """Reply to a broker push as a node client does: echo its ackToSender with the handler's result."""
    ack = push["ackToSender"]
    if with_result:
        ack["payload"]["payload"] = {"result": result}
    party.send_raw(ack)


async def test_broker_channel_accepts_clients_with_its_routing_info(runtime: Runtime, broker: Broker) -> None:
    client = await join_broker(runtime, "app")
    assert client["routing"]["channelName"] == CHANNEL
    assert client["routing"]["uuid"] == PLATFORM
    assert client["routing"]["endpointId"]
    assert client["routing"]["answer"] == {"supportedProtocols": [{"type": "classic", "version": 5}]}


async def test_broker_answers_actions_with_their_result(runtime: Runtime, broker: Broker) -> None:
    client = await join_broker(runtime, "app")
    answered = await dispatch(client, "getInfoForContextGroup", {"contextGroupId": "red"})
    assert answered == {
        "success": True,
        "data": {"result": {"id": "red", "displayMetadata": {"color": "#FF5E60", "name": "red"}}},
    }


async def test_void_action_reply_has_no_result_key(runtime: Runtime, broker: Broker) -> None:
    client = await join_broker(runtime, "app")
    assert await dispatch(client, "joinContextGroup", {"contextGroupId": "red"}) == {
        "success": True,
        "data": {},
    }


async def test_refused_action_carries_reason_and_error(runtime: Runtime, broker: Broker) -> None:
    client = await join_broker(runtime, "app")
    refused = await dispatch(client, "setContext", {"context": INSTRUMENT})
    assert refused["success"] is False
    assert refused["reason"] == "You must join a context group before you can set context."
    assert refused["error"]["message"] == refused["reason"]


async def test_context_reaches_a_handler_as_a_dispatch_of_its_handler_id(
    runtime: Runtime, broker: Broker
) -> None:
    client = await join_broker(runtime, "app", {"currentContextGroup": "green"})
    await dispatch(client, "contextHandlerRegistered", {"handlerId": "invokeContextHandler"})
    await dispatch(client, "setContext", {"context": INSTRUMENT})
    (push,) = await pushed(client["party"])
    assert push["action"] == "invokeContextHandler"
    assert push["payload"] == INSTRUMENT
    assert push["intendedTargetIdentity"]["endpointId"] == client["routing"]["endpointId"]


async def test_setter_is_answered_without_waiting_for_context_handlers(
    runtime: Runtime, broker: Broker
) -> None:
    setter = await join_broker(runtime, "setter", {"currentContextGroup": "green"})
    handler = await join_broker(runtime, "handler", {"currentContextGroup": "green"})
    await dispatch(handler, "contextHandlerRegistered", {"handlerId": "invokeContextHandler"})

    assert await dispatch(setter, "setContext", {"context": INSTRUMENT}) == {"success": True, "data": {}}

    (push,) = await pushed(handler["party"])
    push["ackToSender"]["payload"].update(success=False, reason="handler broke")
    handler["party"].send_raw(push["ackToSender"])
    assert (await dispatch(setter, "getCurrentContext", {}))["data"] == {"result": INSTRUMENT}


async def test_intent_resolution_omits_result_when_the_handler_returned_nothing(
    runtime: Runtime, broker: Broker
) -> None:
    handler = await join_broker(runtime, "handler")
    raiser = await join_broker(runtime, "raiser")
    await dispatch(handler, "intentHandlerRegistered", {"handlerId": "intent-handler-X"})
    raiser_party: Party = raiser["party"]
    message = {**raiser["routing"], "providerIdentity": raiser["routing"], "action": "fireIntent"}
    message_id = raiser_party.send(
        "send-channel-message", {**message, "payload": {"name": "X", "context": {}}}
    )
    (push,) = await pushed(handler["party"])
    answer(handler["party"], push, with_result=False)
    assert (await reply(raiser_party, message_id))["data"] == {
        "result": {
            "source": {"appId": "handler", "instanceId": handler["routing"]["endpointId"]},
            "intent": "X",
            "version": "2.0",
        }
    }


async def test_a_refusing_handler_is_an_intent_handler_rejected_with_its_reason_as_cause(
    runtime: Runtime, broker: Broker
) -> None:
    handler = await join_broker(runtime, "handler")
    raiser = await join_broker(runtime, "raiser")
    await dispatch(handler, "intentHandlerRegistered", {"handlerId": "intent-handler-X"})
    raiser_party: Party = raiser["party"]
    message = {**raiser["routing"], "providerIdentity": raiser["routing"], "action": "fireIntent"}
    message_id = raiser_party.send(
        "send-channel-message", {**message, "payload": {"name": "X", "context": INSTRUMENT}}
    )
    (push,) = await pushed(handler["party"])
    push["ackToSender"]["payload"].update(success=False, reason="ParameterError: Invalid ticker")
    handler["party"].send_raw(push["ackToSender"])
    refused = await reply(raiser_party, message_id)
    assert refused["reason"] == "IntentHandlerRejected"
    assert refused["error"]["message"] == "IntentHandlerRejected"
    assert refused["error"]["cause"]["message"] == "ParameterError: Invalid ticker"


async def test_disconnected_handler_makes_a_later_intent_find_no_apps(
    runtime: Runtime, broker: Broker
) -> None:
    handler = await join_broker(runtime, "handler")
    raiser = await join_broker(runtime, "raiser")
    await dispatch(handler, "intentHandlerRegistered", {"handlerId": "intent-handler-X"})
    handler["party"].close()
    refused = await dispatch(raiser, "fireIntent", {"name": "X", "context": INSTRUMENT})
    assert refused["reason"] == "NoAppsFound"


async def test_closing_the_broker_destroys_its_channel(runtime: Runtime) -> None:
    started = start_broker(runtime, PLATFORM)
    await started.wait_ready()
    await started.aclose()
    party = file_token_handshake(runtime, "late")
    refused = await reply(party, party.send("connect-to-channel", {"channelName": CHANNEL, "wait": False}))
    assert refused == {"success": False, "reason": "internal-nack"}


async def test_fdc3_info_reports_the_runtime_version(runtime: Runtime, broker: Broker) -> None:
    client = await join_broker(runtime, "app")
    info = (await dispatch(client, "fdc3v2GetInfo", {"fdc3Version": "2.0"}))["data"]["result"]
    assert info["providerVersion"] == RuntimeSettings().version
    assert info["provider"] == "OpenFin"
