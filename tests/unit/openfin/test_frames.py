"""The wire layer: parsing what the runtime sends and building what we send, without sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.openfin.errors import ProtocolError
from adapter.openfin.frames import (
    AckFrame,
    AckToSender,
    ChannelMessagePayload,
    ClientIdentity,
    DesktopEvent,
    FrameRefused,
    PushFrame,
    authorization_request,
    channel_message_target,
    encode,
    encode_channel_message,
    encode_request,
    encode_target,
    external_authorization_request,
    failure_reply,
    parse_frame,
    parse_inbound,
    parse_push,
    request_frame,
    success_reply,
    success_reply_text,
)

ACK_TO_SENDER: dict[str, Any] = {
    "action": "send-channel-result",
    "payload": {
        "correlationId": 12,
        "destinationToken": {"uuid": "cli", "name": "cli", "endpointId": "e-1"},
        "payload": {},
        "success": True,
    },
}

CHANNEL_MESSAGE: dict[str, Any] = {
    "action": "process-channel-message",
    "payload": {
        "ackToSender": ACK_TO_SENDER,
        "providerIdentity": {
            "uuid": "prov",
            "name": "prov",
            "channelName": "svc",
            "channelId": "prov/prov/svc",
        },
        "action": "echo",
        "senderIdentity": {
            "uuid": "cli",
            "name": "cli",
            "endpointId": "e-1",
            "isExternal": True,
            "entityType": "external connection",
            "runtimeFlavour": "added-by-a-modern-runtime",
        },
        "payload": {"x": 1},
        "intendedTargetIdentity": {"channelId": "prov/prov/svc"},
    },
}


def test_a_frame_with_a_correlation_id_parses_as_an_ack() -> None:
    frame = parse_frame(
        json.dumps({"action": "ack", "correlationId": 3, "payload": {"success": True, "data": 7}})
    )

    assert isinstance(frame, AckFrame)
    assert frame.correlation_id == 3
    assert frame.payload is not None
    assert frame.payload.data == 7


def test_a_failure_ack_keeps_reason_and_error() -> None:
    frame = parse_frame(
        json.dumps(
            {
                "action": "ack",
                "correlationId": 4,
                "payload": {
                    "success": False,
                    "reason": "nope",
                    "error": {"name": "TypeError", "message": "nope"},
                },
                "breadcrumbs": [],
            }
        )
    )

    assert isinstance(frame, AckFrame)
    assert frame.payload is not None
    assert (frame.payload.success, frame.payload.reason, frame.payload.error) == (
        False,
        "nope",
        {"name": "TypeError", "message": "nope"},
    )


def test_a_channel_message_push_parses_with_unknown_fields_kept() -> None:
    frame = parse_frame(json.dumps(CHANNEL_MESSAGE))
    assert isinstance(frame, PushFrame)

    push = parse_push(frame)

    assert isinstance(push, ChannelMessagePayload)
    assert push.action == "echo"
    assert push.sender_identity.endpoint_id == "e-1"
    assert push.sender_identity.to_wire()["runtimeFlavour"] == "added-by-a-modern-runtime"


def test_a_desktop_event_keeps_its_event_fields() -> None:
    frame = parse_frame(
        json.dumps(
            {
                "action": "process-desktop-event",
                "payload": {
                    "topic": "window",
                    "type": "url-changed",
                    "uuid": "w",
                    "name": "w",
                    "url": "https://x/",
                },
            }
        )
    )
    assert isinstance(frame, PushFrame)

    event = parse_push(frame)

    assert isinstance(event, DesktopEvent)
    assert (event.topic, event.type, (event.model_extra or {})["url"]) == (
        "window",
        "url-changed",
        "https://x/",
    )


def test_an_unknown_push_action_is_not_an_error() -> None:
    frame = parse_frame(json.dumps({"action": "subscriber-added", "payload": {"topic": "t"}}))
    assert isinstance(frame, PushFrame)

    assert parse_push(frame) is None


@pytest.mark.parametrize(
    "text", ["not json", "[1, 2]", '{"payload": {}}', '{"action": "ack", "correlationId": "x"}']
)
def test_garbage_is_refused_with_a_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_frame(text)


def test_a_known_push_with_a_broken_payload_is_a_protocol_error() -> None:
    frame = parse_frame(json.dumps({"action": "process-channel-message", "payload": {"action": "x"}}))
    assert isinstance(frame, PushFrame)

    with pytest.raises(ProtocolError, match="ackToSender"):
        parse_push(frame)


def test_a_request_without_payload_sends_an_empty_object() -> None:
    assert request_frame("get-version", None, 1) == {"action": "get-version", "payload": {}, "messageId": 1}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(st.text(), st.dictionaries(st.text(), JSON_VALUES), st.integers(min_value=1))
def test_a_request_around_an_encoded_payload_is_the_encoded_request(
    action: str, payload: dict[str, Any], message_id: int
) -> None:
    text = encode_request(action, encode(payload), message_id)

    assert json.loads(text) == request_frame(action, payload, message_id)


@settings(max_examples=60, deadline=None)
@given(JSON_VALUES)
def test_a_frame_is_encoded_as_compact_json_of_the_same_value(value: Any) -> None:
    assert json.loads(encode(value)) == value


def test_a_frame_is_compact_and_carries_text_as_utf8_like_node_adapter() -> None:
    assert encode({"short_description": "Imprimante en panne, été", "n": [1, 2]}) == (
        '{"short_description":"Imprimante en panne, été","n":[1,2]}'
    )


SENDER = CHANNEL_MESSAGE["payload"]["senderIdentity"]
PROVIDER = CHANNEL_MESSAGE["payload"]["providerIdentity"]


@settings(max_examples=60, deadline=None)
@given(st.text(), JSON_VALUES)
def test_a_channel_message_from_encoded_parts_is_the_encoded_message(action: str, payload: Any) -> None:
    target = encode_target(ClientIdentity.model_validate(SENDER))

    message = encode_channel_message(target, encode(PROVIDER), action, encode(payload))

    assert json.loads(message) == {
        **SENDER,
        "providerIdentity": PROVIDER,
        "action": action,
        "payload": payload,
    }


def test_a_channel_message_without_payload_has_no_payload_key() -> None:
    target = encode_target(ClientIdentity.model_validate(SENDER))

    message = json.loads(encode_channel_message(target, encode(PROVIDER), "ping", None))

    assert message == {**SENDER, "providerIdentity": PROVIDER, "action": "ping"}


def test_a_target_leaves_out_node_adapters_local_endpoint_flag() -> None:
    client = ClientIdentity.model_validate({**SENDER, "isLocalEndpointId": True})

    assert json.loads(encode_target(client)) == SENDER


def test_the_file_token_handshake_frames_name_the_connection_after_its_uuid() -> None:
    first = external_authorization_request("svc-adapter", 1)
    second = authorization_request("svc-adapter", 2, token=None)

    assert first["payload"] == {"uuid": "svc-adapter", "type": "file-token"}
    assert second["payload"] == {
        "uuid": "svc-adapter",
        "name": "svc-adapter",
        "nonPersistent": True,
        "type": "file-token",
    }


def test_the_token_handshake_sends_the_token_and_no_type() -> None:
    frame = authorization_request("svc-adapter", 1, token="tok-123456789")

    assert frame["payload"]["token"] == "tok-123456789"
    assert "type" not in frame["payload"]


def test_a_success_reply_echoes_ack_to_sender_and_carries_the_result() -> None:
    ack = AckToSender.model_validate({**ACK_TO_SENDER, "action": "send-channel-result-v2"})

    reply = success_reply(ack, {"ok": 1})

    assert reply["action"] == "send-channel-result-v2"
    assert "messageId" not in reply
    assert reply["payload"]["correlationId"] == 12
    assert reply["payload"]["destinationToken"] == ACK_TO_SENDER["payload"]["destinationToken"]
    assert reply["payload"]["payload"] == {"result": {"ok": 1}}
    assert reply["payload"]["success"] is True


def test_a_none_result_is_left_out_like_javascript_undefined() -> None:
    reply = success_reply(AckToSender.model_validate(ACK_TO_SENDER), None)

    assert reply["payload"]["payload"] == {}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300)
@given(
    inner=st.none() | st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3),
    has_inner=st.booleans(),
    extra=st.fixed_dictionaries(
        {}, optional={"destinationToken": JSON_VALUES, "x": JSON_VALUES, "success": st.booleans()}
    ),
    outer=st.fixed_dictionaries({}, optional={"y": JSON_VALUES, "messageId": JSON_VALUES}),
    result=JSON_VALUES,
)
def test_a_success_reply_as_text_is_the_success_reply_encoded(
    inner: Any, has_inner: bool, extra: dict[str, Any], outer: dict[str, Any], result: Any
) -> None:
    payload: dict[str, Any] = {**extra, "correlationId": 3}
    if has_inner:
        payload["payload"] = inner
    ack = AckToSender.model_validate({**outer, "action": "send-channel-result", "payload": payload})

    text = success_reply_text(ack, None if result is None else encode(result))

    assert json.loads(text) == success_reply(ack, result)
    # The keys in ``to_wire``'s order too, but for the payloads the result is spliced into, which come last.
    expected = success_reply(ack, result)
    assert list(json.loads(text)) == [key for key in expected if key != "payload"] + ["payload"]
    assert list(json.loads(text)["payload"]) == [
        key for key in expected["payload"] if key not in ("success", "payload")
    ] + ["success", "payload"]


def test_a_success_reply_as_text_keeps_the_inner_payloads_other_keys() -> None:
    ack = AckToSender.model_validate(
        {**ACK_TO_SENDER, "payload": {**ACK_TO_SENDER["payload"], "payload": {"k": 1, "result": "old"}}}
    )

    reply = json.loads(success_reply_text(ack, '{"ok":1}'))

    assert reply["payload"]["payload"] == {"k": 1, "result": {"ok": 1}}
    assert reply["payload"]["success"] is True
    assert ack.to_wire()["payload"]["payload"] == {"k": 1, "result": "old"}


def test_a_failure_reply_carries_reason_and_error() -> None:
    reply = failure_reply(
        AckToSender.model_validate(ACK_TO_SENDER), "Boom: bad", {"name": "Boom", "message": "bad"}
    )

    assert reply["payload"]["success"] is False
    assert reply["payload"]["reason"] == "Boom: bad"
    assert reply["payload"]["error"] == {"name": "Boom", "message": "bad"}


def test_a_reply_does_not_alter_the_ack_it_was_built_from() -> None:
    ack = AckToSender.model_validate(ACK_TO_SENDER)

    success_reply(ack, 1)
    failure_reply(ack, "Boom: bad", {"name": "Boom", "message": "bad"})

    assert ack.to_wire() == ACK_TO_SENDER


def test_intended_target_with_a_channel_id_is_the_provider() -> None:
    push = ChannelMessagePayload.model_validate(CHANNEL_MESSAGE["payload"])

    assert channel_message_target(push) == ("provider", "prov/prov/svc")


def test_intended_target_with_only_an_endpoint_id_is_a_client() -> None:
    payload = {**CHANNEL_MESSAGE["payload"], "intendedTargetIdentity": {"endpointId": "e-9", "uuid": "x"}}

    assert channel_message_target(ChannelMessagePayload.model_validate(payload)) == ("client", "e-9")


def test_a_client_identity_round_trips_to_the_wire_unchanged() -> None:
    wire = {"uuid": "a", "name": "b", "endpointId": "e", "isExternal": False, "connectionUrl": "https://app/"}

    assert ClientIdentity.model_validate(wire).to_wire() == wire


def _json_children(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(
        ["action", "payload", "correlationId", "ackToSender", "topic", "type", "uuid", "x"]
    )
    return st.lists(children) | st.dictionaries(keys, children)


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(st.text(), st.recursive(st.none() | st.booleans() | st.integers() | st.text(), _json_children))
)
def test_any_input_parses_or_raises_a_protocol_error(value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        frame = parse_frame(text)
    except ProtocolError:
        return
    if isinstance(frame, PushFrame):
        try:
            parse_push(frame)
        except ProtocolError:
            return


def _deep_message(depth: int) -> dict[str, Any]:
    nested: Any = {}
    for _ in range(depth):
        nested = {"n": nested}
    return {**CHANNEL_MESSAGE, "payload": {**CHANNEL_MESSAGE["payload"], "payload": nested}}


def test_a_push_nested_past_the_bound_is_refused_with_its_reply_envelope() -> None:
    # Frame (1), payload (2), the app's payload (3): 61 more levels make 64, the bound.
    parse_frame(encode(_deep_message(61)), max_depth=64)
    with pytest.raises(FrameRefused) as refused:
        parse_frame(encode(_deep_message(62)), max_depth=64)
    assert refused.value.name == "MessageTooDeepError"
    assert refused.value.ack == AckToSender.model_validate(ACK_TO_SENDER)


def test_a_push_over_the_size_bound_is_refused_with_its_reply_envelope() -> None:
    text = encode({**CHANNEL_MESSAGE, "payload": {**CHANNEL_MESSAGE["payload"], "payload": "x" * 5000}})
    parse_frame(text, max_bytes=len(text))
    with pytest.raises(FrameRefused) as refused:
        parse_frame(text, max_bytes=len(text) - 1)
    assert refused.value.name == "MessageTooLargeError"
    assert refused.value.ack is not None


def test_a_refused_push_without_a_readable_envelope_has_none() -> None:
    frame = _deep_message(80)
    frame["payload"]["ackToSender"] = "not an envelope"
    with pytest.raises(FrameRefused) as refused:
        parse_frame(encode(frame), max_depth=64)
    assert refused.value.ack is None


def test_a_reply_over_a_bound_becomes_a_failure_ack_for_its_caller() -> None:
    nested: Any = {}
    for _ in range(80):
        nested = {"n": nested}
    frame = parse_frame(
        encode({"action": "ack", "correlationId": 7, "payload": {"success": True, "data": nested}}),
        max_depth=64,
    )
    assert isinstance(frame, AckFrame)
    assert frame.correlation_id == 7
    assert frame.payload is not None
    assert frame.payload.success is False
    assert frame.payload.reason is not None
    assert frame.payload.reason.startswith("MessageTooDeepError")


def _two_steps(text: str, **bounds: Any) -> Any:
    """What ``parse_frame`` then ``parse_push`` make of ``text`` (a channel message's payload model)."""
    frame = parse_frame(text, **bounds)
    if isinstance(frame, PushFrame) and frame.action == "process-channel-message":
        return parse_push(frame)
    return frame


def _one_pass(text: str) -> Any:
    """What the router makes of ``text``: ``parse_inbound``, and ``parse_push`` for a push it returned."""
    frame = parse_inbound(text)
    if isinstance(frame, PushFrame) and frame.action == "process-channel-message":
        return parse_push(frame)
    return frame


def test_a_channel_message_is_validated_in_one_pass_into_the_same_model() -> None:
    text = json.dumps(CHANNEL_MESSAGE)

    push = parse_inbound(text)

    assert isinstance(push, ChannelMessagePayload)
    assert push == _two_steps(text)
    assert push.sender_identity.endpoint_id == "e-1"
    assert push.to_wire() == CHANNEL_MESSAGE["payload"]


@pytest.mark.parametrize(
    "frame",
    [
        {"action": "process-channel-message", "payload": {"action": "x"}},
        {"action": "process-channel-message"},
        {"action": "process-channel-message", "payload": [1]},
        {**CHANNEL_MESSAGE, "payload": {**CHANNEL_MESSAGE["payload"], "senderIdentity": {"uuid": 3}}},
    ],
)
def test_a_malformed_channel_message_raises_the_two_steps_own_error(frame: dict[str, Any]) -> None:
    text = json.dumps(frame)
    with pytest.raises(ProtocolError) as two_steps:
        _two_steps(text)

    with pytest.raises(ProtocolError) as one_pass:
        _one_pass(text)

    assert str(one_pass.value) == str(two_steps.value)


def test_other_frames_come_back_as_parse_frame_makes_them() -> None:
    reply = json.dumps({**CHANNEL_MESSAGE, "correlationId": 4, "payload": {"success": True}})
    event = json.dumps({"action": "process-desktop-event", "payload": {"topic": "t", "type": "x"}})

    assert isinstance(parse_inbound(reply), AckFrame)
    assert parse_inbound(reply) == parse_frame(reply)
    assert isinstance(parse_inbound(event), PushFrame)
    assert parse_inbound(event) == parse_frame(event)


def test_a_channel_message_past_the_bounds_is_refused_as_parse_frame_refuses_it() -> None:
    text = json.dumps(_deep_message(40))
    with pytest.raises(FrameRefused) as two_steps:
        parse_frame(text, max_depth=16)

    with pytest.raises(FrameRefused) as one_pass:
        parse_inbound(text, max_depth=16)

    assert str(one_pass.value) == str(two_steps.value)
    assert one_pass.value.ack == two_steps.value.ack
    # Positive control: within the bound it is a message.
    assert isinstance(parse_inbound(text, max_depth=64), ChannelMessagePayload)


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(st.text(), st.recursive(st.none() | st.booleans() | st.integers() | st.text(), _json_children))
)
def test_any_input_is_read_in_one_pass_as_in_two(value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, dict) and "correlationId" not in value:
        # Steer a share of the examples into the channel-message path.
        text = json.dumps({**value, "action": "process-channel-message"})
    try:
        expected: Any = _two_steps(text)
    except ProtocolError as exc:
        expected = ("error", str(exc))
    try:
        got: Any = _one_pass(text)
    except ProtocolError as exc:
        got = ("error", str(exc))
    assert got == expected
