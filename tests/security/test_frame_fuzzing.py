"""Fuzzing the raw frames the channel provider receives from the runtime.

A scripted runtime (a real websocket) pushes whatever hypothesis makes of it to a ``RuntimeConnection``
serving the adapter's four actions with their payload models: garbage text, arbitrary JSON, frames with
the right action and wrong fields, and well-formed channel messages with fuzzed actions and payloads. Spies
stand in for the handlers. Every well-formed message gets exactly one reply (a result, or a named error);
no handler ever sees a payload its model refuses; the connection stays up and answers the next message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from adapter.bridge.messages import ConnectPayload, DisconnectPayload, RequestPayload, StatusPayload
from adapter.openfin import ChannelProvider, ClientIdentity, RuntimeConnection, RuntimeConnectionState
from tests.integration.openfin.fake_runtime import FakeRuntime
from tests.support.waiting import eventually

MODELS: dict[str, type[BaseModel]] = {
    "servicenow.connect": ConnectPayload,
    "servicenow.request": RequestPayload,
    "servicenow.disconnect": DisconnectPayload,
    "servicenow.status": StatusPayload,
}
PROVIDER = {
    "uuid": "servicenow-adapter",
    "name": "servicenow-adapter",
    "channelName": "servicenow",
    "channelId": "chan-fuzz",
    "isExternal": True,
}
CLIENT = {
    "uuid": "fuzz-app",
    "name": "fuzz-app",
    "endpointId": "endpoint-fuzz",
    "isExternal": True,
    "entityType": "external connection",
}
REPLY_WAIT = 10.0

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


class FuzzRuntime(FakeRuntime):
    """The scripted runtime, able to push text that is not JSON at all."""

    async def push_raw(self, text: str) -> None:
        for socket in list(self._sockets):
            await socket.send(text)


class Harness:
    """The runtime and our provider on a loop in a thread, so that hypothesis drives them from sync code."""

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="frame-fuzz", daemon=True)
        self.runtime = FuzzRuntime(folder)
        self.runtime.answers["create-channel"] = PROVIDER
        self.connection: RuntimeConnection | None = None
        self.seen: list[tuple[str, Any]] = []
        self.ids = itertools.count(1_000)

    def run(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=REPLY_WAIT * 2)

    def start(self) -> None:
        self.thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        await self.runtime.start()
        self.connection = RuntimeConnection(self.runtime.address, "servicenow-adapter")
        await self.connection.connect()
        provider = ChannelProvider(self.connection, "servicenow")
        for name, model in MODELS.items():
            provider.register(name, self._spy(name), payload=model)
        await provider.create()
        await self.push(connection_push(next(self.ids)))

    def _spy(self, name: str) -> Any:
        def handler(payload: Any, caller: ClientIdentity) -> dict[str, Any]:
            self.seen.append((name, payload))
            return {"handled": name, "caller": caller.uuid}

        return handler

    async def push(self, frame: Any) -> None:
        await self.runtime.push_raw(frame if isinstance(frame, str) else json.dumps(frame))

    async def reply(self, correlation_id: int) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for frame in self.runtime.received:
                body = frame.get("payload") or {}
                if frame.get("action") != "send-channel-result":
                    continue
                if body.get("correlationId") == correlation_id:
                    return dict(body)
            return None

        await eventually(found, f"the reply to {correlation_id}", timeout=REPLY_WAIT)
        answer = found()
        assert answer is not None
        return answer

    def replies_to(self, correlation_id: int) -> int:
        return sum(
            1
            for frame in self.runtime.received
            if frame.get("action") == "send-channel-result"
            and (frame.get("payload") or {}).get("correlationId") == correlation_id
        )

    def stop(self) -> None:
        async def close() -> None:
            if self.connection is not None:
                await self.connection.close()
            await self.runtime.stop()

        self.run(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


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


def connection_push(correlation_id: int) -> dict[str, Any]:
    return {
        "action": "process-channel-connection",
        "payload": {
            "ackToSender": ack_to_sender(correlation_id),
            "providerIdentity": PROVIDER,
            "clientIdentity": CLIENT,
            "payload": None,
        },
    }


def message_push(correlation_id: int, action: Any, payload: Any, sender: Any = None) -> dict[str, Any]:
    return {
        "action": "process-channel-message",
        "payload": {
            "ackToSender": ack_to_sender(correlation_id),
            "providerIdentity": PROVIDER,
            "action": action,
            "senderIdentity": CLIENT if sender is None else sender,
            "payload": payload,
            "intendedTargetIdentity": PROVIDER,
        },
    }


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    running = Harness(tmp_path_factory.mktemp("frame-fuzz"))
    running.start()
    yield running
    running.stop()


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

garbage = st.one_of(
    st.text(),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(
                ["process-channel-message", "process-channel-connection", "ack", "event"]
            )
        },
        optional={"payload": json_values, "correlationId": json_values, "messageId": json_values},
    ),
    st.builds(
        lambda fields: {"action": "process-channel-message", "payload": fields},
        st.dictionaries(
            st.sampled_from(
                [
                    "ackToSender",
                    "providerIdentity",
                    "action",
                    "senderIdentity",
                    "payload",
                    "intendedTargetIdentity",
                ]
            ),
            json_values,
        ),
    ),
)


def valid_for(action: Any, payload: Any) -> bool:
    model = MODELS.get(action) if isinstance(action, str) else None
    if model is None:
        return False
    try:
        model.model_validate({} if payload is None else payload)
    except ValidationError:
        return False
    return True


@FUZZ
@given(
    noise=st.lists(garbage, max_size=3),
    action=st.sampled_from(list(MODELS)) | st.text(max_size=20),
    payload=json_values
    | st.fixed_dictionaries(
        {"apiEndpoint": st.text()}, optional={"httpMethod": json_values, "data": json_values}
    ),
    spoofed=st.booleans(),
)
def test_any_frame_gets_a_typed_answer_and_no_handler_sees_an_invalid_payload(
    harness: Harness, noise: list[Any], action: Any, payload: Any, spoofed: bool
) -> None:
    for frame in noise:
        harness.run(harness.push(frame))
    correlation_id = next(harness.ids)
    # A spoofed sender claims the connected endpoint under another app's uuid: the runtime's word on who
    # is calling is checked against the connection it accepted.
    sender = {**CLIENT, "uuid": "someone-else"} if spoofed else None
    handled_before = len(harness.seen)
    harness.run(harness.push(message_push(correlation_id, action, payload, sender)))
    reply = harness.run(harness.reply(correlation_id))

    if reply["success"]:
        assert not spoofed
        assert valid_for(action, payload)
        assert reply["payload"]["result"]["handled"] == action
    else:
        assert reply["reason"], reply
        if spoofed:
            assert "not connected to the provider" in reply["reason"], reply
        elif isinstance(action, str) and action in MODELS:
            assert reply["reason"].startswith("ParameterError: "), reply
        else:
            # node-adapter's own wording, kept verbatim (no name prefix), as for every unknown action
            assert reply["reason"].startswith("No action registered at target for"), reply
    for name, seen in harness.seen[handled_before:]:
        assert isinstance(seen, MODELS[name])
        MODELS[name].model_validate(seen.model_dump())

    probe = next(harness.ids)
    harness.run(harness.push(message_push(probe, "servicenow.status", {})))
    assert harness.run(harness.reply(probe))["success"] is True
    assert harness.replies_to(correlation_id) == 1
    assert harness.connection is not None
    assert harness.connection.state is RuntimeConnectionState.CONNECTED
