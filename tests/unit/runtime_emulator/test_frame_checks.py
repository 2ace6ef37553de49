"""Frames and relay payloads that are not in their exact JSON types are read as the pydantic models read them.

The hot path skips the models for frames that already have the exact types; these pin what the models
decide for everything else (coercions and refusals), so that skipping them changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapter.emulators.runtime.frames import ClientFrameModel, FrameError, client_frame, parse_client_frame
from adapter.emulators.runtime.runtime import Runtime
from tests.unit.runtime_emulator.conftest import file_token_handshake


@pytest.mark.parametrize(
    "raw",
    [
        {"action": "get-version", "payload": {"a": 1}, "messageId": 3},
        {"action": "send-channel-result", "payload": {"x": [1, 2]}},
        {"action": "get-version", "messageId": 0, "extra": "kept"},
        {"action": "get-version", "messageId": True},
        {"action": "get-version", "messageId": 4.0},
        {"action": "get-version", "messageId": "5"},
    ],
)
def test_a_valid_frame_reads_as_the_model_reads_it(raw: dict[str, Any]) -> None:
    model = ClientFrameModel.model_validate(raw)

    frame = client_frame(raw)

    assert (frame.action, frame.payload, frame.message_id) == (model.action, model.payload, model.message_id)


@pytest.mark.parametrize(
    ("raw", "field", "message_id"),
    [
        ({"action": "", "messageId": 1}, "action", 1),
        ({"action": 7, "messageId": 1}, "action", 1),
        ({"action": "get-version", "payload": [1], "messageId": 1}, "payload", 1),
        ({"action": "get-version", "messageId": 1.5}, "messageId", None),
    ],
)
def test_an_invalid_frame_is_refused_naming_the_field(
    raw: dict[str, Any], field: str, message_id: int | None
) -> None:
    with pytest.raises(FrameError) as refused:
        parse_client_frame(json.dumps(raw))

    assert refused.value.reason == f"Invalid message: bad or missing {field}"
    assert refused.value.message_id == message_id


def test_a_result_with_a_coercible_success_flag_is_relayed_as_before(runtime: Runtime) -> None:
    provider = file_token_handshake(runtime, "prov")
    client = file_token_handshake(runtime, "cli")
    provider.request("create-channel", {"channelName": "svc"})
    joined = client.send("connect-to-channel", {"channelName": "svc"})
    provider.send_raw(provider.sink.pushes("process-channel-connection")[-1]["ackToSender"])
    routing = client.sink.reply_to(joined)["payload"]["data"]
    sent = client.send("send-channel-message", {**routing, "providerIdentity": routing, "action": "a"})
    reply = provider.sink.pushes("process-channel-message")[-1]["ackToSender"]
    reply["payload"].update(success="false", reason="refused")

    provider.send_raw(reply)

    assert client.sink.reply_to(sent)["payload"] == {"success": False, "reason": "refused"}


def test_a_message_with_a_non_string_target_is_refused_naming_the_field(runtime: Runtime) -> None:
    party = file_token_handshake(runtime, "cli")

    reply = party.request("send-channel-message", {"action": "a", "channelId": 5})

    assert reply == {"success": False, "reason": "Invalid payload: bad or missing channelId"}
