"""Channel routing, relays and cleanup rules of docs/emulators/runtime.md, on the pure core."""

from __future__ import annotations

from typing import Any

from structlog.testing import capture_logs

from adapter.emulators.runtime.auth import TokenFiles
from adapter.emulators.runtime.runtime import Runtime, RuntimeSettings
from tests.unit.runtime_emulator.conftest import Party, file_token_handshake


def _accept(provider: Party, result: Any = None) -> dict[str, Any]:
    """The provider answers the last connection push the way node-adapter does; returns the push."""
    push = provider.sink.pushes("process-channel-connection")[-1]
    reply = push["ackToSender"]
    reply["payload"]["payload"]["result"] = result
    provider.send_raw(reply)
    return dict(push)


def _channel(runtime: Runtime) -> tuple[Party, Party, dict[str, Any]]:
    """A provider of channel ``svc`` and one connected client; returns the client's routingInfo."""
    provider = file_token_handshake(runtime, "prov")
    client = file_token_handshake(runtime, "cli")
    provider.request("create-channel", {"channelName": "svc"})
    message_id = client.send("connect-to-channel", {"channelName": "svc", "payload": {"hi": 1}})
    _accept(provider)
    routing: dict[str, Any] = client.sink.reply_to(message_id)["payload"]["data"]
    provider.sink.take()
    client.sink.take()
    return provider, client, routing


def test_create_channel_returns_the_provider_identity(runtime: Runtime) -> None:
    provider = file_token_handshake(runtime, "prov")

    identity = provider.request("create-channel", {"channelName": "svc"})["data"]

    assert identity["uuid"] == identity["name"] == "prov"
    assert identity["channelName"] == "svc"
    assert identity["isExternal"] is True
    assert identity["channelId"]


def test_path_style_channel_ids_are_a_setting(tmp_path: Any) -> None:
    core = Runtime(RuntimeSettings(channel_id_style="path"), token_files=TokenFiles(tmp_path))
    provider = file_token_handshake(core, "prov")

    identity = provider.request("create-channel", {"channelName": "svc"})["data"]

    assert identity["channelId"] == "prov/prov/svc"


def test_connecting_to_a_missing_channel_gets_internal_nack(runtime: Runtime) -> None:
    client = file_token_handshake(runtime, "cli")

    reply = client.request("connect-to-channel", {"channelName": "nobody", "wait": True})

    assert reply == {"success": False, "reason": "internal-nack"}


def test_channel_created_event_reaches_every_subscriber_after_the_providers_ack(runtime: Runtime) -> None:
    provider = file_token_handshake(runtime, "prov")
    watchers = [file_token_handshake(runtime, f"watcher-{n}") for n in range(2)]
    for watcher in watchers:
        watcher.request("subscribe-to-desktop-event", {"topic": "channel", "type": "connected"})
        watcher.sink.take()

    message_id = provider.send("create-channel", {"channelName": "svc"})

    assert provider.sink.frames[0]["correlationId"] == message_id
    for watcher in watchers:
        [event] = watcher.sink.pushes("process-desktop-event")
        assert (event["topic"], event["type"], event["channelName"], event["uuid"]) == (
            "channel",
            "connected",
            "svc",
            "prov",
        )


def test_connect_pushes_the_client_to_the_provider_with_an_ack_to_sender(runtime: Runtime) -> None:
    provider = file_token_handshake(runtime, "prov")
    client = file_token_handshake(runtime, "cli")
    provider_identity = provider.request("create-channel", {"channelName": "svc"})["data"]
    offer = {"supportedProtocols": [{"type": "classic", "version": 5}], "maxProtocols": 2}

    message_id = client.send(
        "connect-to-channel", {"channelName": "svc", "payload": {"hi": 1}, "offer": offer}
    )

    assert client.sink.frames == [], "the client's reply waits for the provider"
    [push] = provider.sink.pushes("process-channel-connection")
    client_identity = push["clientIdentity"]
    assert client_identity["uuid"] == client_identity["name"] == "cli"
    assert client_identity["entityType"] == "external connection"
    assert push["payload"] == {"hi": 1}
    assert push["offer"] == offer
    assert push["providerIdentity"] == provider_identity
    ack_to_sender = push["ackToSender"]
    assert ack_to_sender["action"] == "send-channel-result"
    assert ack_to_sender["payload"]["correlationId"] == message_id
    assert ack_to_sender["payload"]["payload"] == {
        **provider_identity,
        "endpointId": client_identity["endpointId"],
    }


def test_accepted_connection_relays_the_providers_payload_as_routing_info(runtime: Runtime) -> None:
    provider = file_token_handshake(runtime, "prov")
    client = file_token_handshake(runtime, "cli")
    provider.request("create-channel", {"channelName": "svc"})
    message_id = client.send("connect-to-channel", {"channelName": "svc"})

    push = _accept(provider, result={"welcome": True})

    reply = client.sink.reply_to(message_id)["payload"]
    assert reply["success"] is True
    assert reply["data"]["result"] == {"welcome": True}
    assert reply["data"]["endpointId"] == push["clientIdentity"]["endpointId"]
    assert provider.sink.pushes("ack") == [], "send-channel-result gets no reply"


def test_rejected_connection_relays_the_reason_and_registers_nothing(runtime: Runtime) -> None:
    provider = file_token_handshake(runtime, "prov")
    client = file_token_handshake(runtime, "cli")
    provider.request("create-channel", {"channelName": "svc"})
    message_id = client.send("connect-to-channel", {"channelName": "svc"})
    reply = provider.sink.pushes("process-channel-connection")[-1]["ackToSender"]
    reply["payload"].update(success=False, reason="not allowed")

    provider.send_raw(reply)

    assert client.sink.reply_to(message_id)["payload"] == {"success": False, "reason": "not allowed"}
    channel = runtime.channels.get("svc")
    assert channel is not None
    assert channel.clients == {}


def test_message_with_a_channel_id_goes_to_the_provider_as_from_the_client(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)

    client.send(
        "send-channel-message", {**routing, "providerIdentity": routing, "action": "echo", "payload": 1}
    )

    [push] = provider.sink.pushes("process-channel-message")
    assert push["action"] == "echo"
    assert push["payload"] == 1
    assert push["intendedTargetIdentity"]["channelId"] == routing["channelId"]
    sender = push["senderIdentity"]
    assert (sender["uuid"], sender["name"], sender["endpointId"]) == ("cli", "cli", routing["endpointId"])


def test_message_without_a_channel_id_goes_to_the_client_endpoint(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)
    channel = runtime.channels.get("svc")
    assert channel is not None
    [endpoint] = channel.clients.values()

    provider.send(
        "send-channel-message",
        {**endpoint.identity, "providerIdentity": channel.provider_identity, "action": "news", "payload": {}},
    )

    [push] = client.sink.pushes("process-channel-message")
    assert "channelId" not in push["intendedTargetIdentity"]
    assert push["intendedTargetIdentity"]["endpointId"] == routing["endpointId"]
    assert push["senderIdentity"] == channel.provider_identity


def test_successful_result_is_relayed_as_the_senders_ack(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)
    message_id = client.send("send-channel-message", {**routing, "providerIdentity": routing, "action": "a"})
    reply = provider.sink.pushes("process-channel-message")[-1]["ackToSender"]
    reply["payload"]["payload"]["result"] = {"answer": 42}

    provider.send_raw(reply)

    assert client.sink.reply_to(message_id)["payload"] == {
        "success": True,
        "data": {"result": {"answer": 42}},
    }


def test_failed_result_relays_reason_and_error(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)
    message_id = client.send("send-channel-message", {**routing, "providerIdentity": routing, "action": "a"})
    reply = provider.sink.pushes("process-channel-message")[-1]["ackToSender"]
    error = {"name": "TypeError", "message": "bad", "stack": "TypeError: bad"}
    reply["payload"].update(success=False, reason="bad", error=error)

    provider.send_raw(reply)

    assert client.sink.reply_to(message_id)["payload"] == {"success": False, "reason": "bad", "error": error}


def test_relaying_only_the_reason_is_a_setting(tmp_path: Any) -> None:
    core = Runtime(RuntimeSettings(relay_channel_errors=False), token_files=TokenFiles(tmp_path))
    provider, client, routing = _channel(core)
    message_id = client.send("send-channel-message", {**routing, "providerIdentity": routing, "action": "a"})
    reply = provider.sink.pushes("process-channel-message")[-1]["ackToSender"]
    reply["payload"].update(success=False, reason="bad", error={"name": "TypeError", "message": "bad"})

    provider.send_raw(reply)

    assert client.sink.reply_to(message_id)["payload"] == {"success": False, "reason": "bad"}


def test_result_from_a_party_that_was_not_asked_is_ignored(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)
    intruder = file_token_handshake(runtime, "intruder")
    message_id = client.send("send-channel-message", {**routing, "providerIdentity": routing, "action": "a"})
    forged = provider.sink.pushes("process-channel-message")[-1]["ackToSender"]

    intruder.send_raw(forged)

    assert client.sink.frames == []
    provider.send_raw(forged)
    assert client.sink.reply_to(message_id)["payload"]["success"] is True


def test_result_with_a_message_id_gets_no_ack_by_default(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)
    client.send("send-channel-message", {**routing, "providerIdentity": routing, "action": "a"})
    reply = provider.sink.pushes("process-channel-message")[-1]["ackToSender"]

    provider.send_raw({**reply, "messageId": 99})

    assert [f for f in provider.sink.frames if f.get("correlationId") == 99] == []


def test_result_with_a_message_id_is_acked_when_set_to(tmp_path: Any) -> None:
    core = Runtime(RuntimeSettings(ack_channel_results=True), token_files=TokenFiles(tmp_path))
    provider, client, routing = _channel(core)
    client.send("send-channel-message", {**routing, "providerIdentity": routing, "action": "a"})
    reply = provider.sink.pushes("process-channel-message")[-1]["ackToSender"]

    provider.send_raw({**reply, "messageId": 99})

    assert provider.sink.reply_to(99)["payload"] == {"success": True}


def test_message_from_a_party_that_is_not_a_client_is_refused(runtime: Runtime) -> None:
    _, _, routing = _channel(runtime)
    stranger = file_token_handshake(runtime, "stranger")

    reply = stranger.request("send-channel-message", {**routing, "providerIdentity": routing, "action": "a"})

    assert reply["success"] is False
    assert "not connected" in reply["reason"]


def test_only_the_provider_can_destroy_its_channel(runtime: Runtime) -> None:
    _, client, _ = _channel(runtime)

    reply = client.request("destroy-channel", {"channelName": "svc"})

    assert reply == {
        "success": False,
        "reason": "Channel can only be destroyed from application that created it.",
    }


def test_destroying_a_missing_channel_names_it(runtime: Runtime) -> None:
    provider = file_token_handshake(runtime, "prov")

    reply = provider.request("destroy-channel", {"channelName": "nope"})

    assert reply == {"success": False, "reason": "Channel nope does not exist."}


def test_client_disconnect_emits_client_disconnected_with_channel_fields(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)
    provider.request("subscribe-to-desktop-event", {"topic": "channel", "type": "client-disconnected"})

    reply = client.request(
        "disconnect-from-channel",
        {"channelName": "svc", "uuid": "prov", "name": "prov", "endpointId": routing["endpointId"]},
    )

    assert reply == {"success": True}
    [event] = provider.sink.pushes("process-desktop-event")
    assert event["type"] == "client-disconnected"
    assert (event["uuid"], event["endpointId"]) == ("cli", routing["endpointId"])
    assert (event["channelName"], event["channelId"]) == ("svc", routing["channelId"])


def test_destroy_emits_disconnected_and_frees_the_name(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)
    client.request("subscribe-to-desktop-event", {"topic": "channel", "type": "disconnected"})

    assert provider.request("destroy-channel", {"channelName": "svc"}) == {"success": True}

    [event] = client.sink.pushes("process-desktop-event")
    assert (event["type"], event["channelId"], event["uuid"]) == (
        "disconnected",
        routing["channelId"],
        "prov",
    )
    assert provider.request("create-channel", {"channelName": "svc"})["success"] is True


def test_provider_socket_close_fails_pending_requests_and_removes_the_channel(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)
    client.request("subscribe-to-desktop-event", {"topic": "channel", "type": "disconnected"})
    message_id = client.send(
        "send-channel-message", {**routing, "providerIdentity": routing, "action": "slow"}
    )

    provider.close()

    assert client.sink.reply_to(message_id)["payload"] == {
        "success": False,
        "reason": 'Channel "svc" has been destroyed.',
    }
    assert [e["type"] for e in client.sink.pushes("process-desktop-event")] == ["disconnected"]
    assert runtime.channels.all_channels() == []


def test_client_socket_close_fails_the_providers_pending_dispatch(runtime: Runtime) -> None:
    provider, client, _ = _channel(runtime)
    provider.request("subscribe-to-desktop-event", {"topic": "channel", "type": "client-disconnected"})
    channel = runtime.channels.get("svc")
    assert channel is not None
    [endpoint] = channel.clients.values()
    message_id = provider.send(
        "send-channel-message",
        {**endpoint.identity, "providerIdentity": channel.provider_identity, "action": "a"},
    )

    client.close()

    reply = provider.sink.reply_to(message_id)["payload"]
    assert reply["success"] is False
    assert "no longer connected" in reply["reason"]
    assert [e["type"] for e in provider.sink.pushes("process-desktop-event")] == ["client-disconnected"]
    assert channel.clients == {}


def test_closed_connections_leave_no_state_behind(runtime: Runtime) -> None:
    provider, client, routing = _channel(runtime)
    client.request("subscribe-to-desktop-event", {"topic": "channel", "type": "disconnected"})
    client.request("subscribe", {"topic": "t", "sourceUuid": "*"})
    client.send("send-channel-message", {**routing, "providerIdentity": routing, "action": "pending"})

    client.close()
    provider.close()

    assert runtime.connections == []
    assert runtime.channels.pending_relays == 0
    assert runtime.channels.all_channels() == []
    assert runtime.events.count(client.connection) == 0


def _publish_to_client_then_client_leaves(runtime: Runtime) -> tuple[Party, dict[str, Any]]:
    provider, client, routing = _channel(runtime)
    channel = runtime.channels.get("svc")
    assert channel is not None
    [endpoint] = channel.clients.values()
    message_id = provider.send(
        "send-channel-message",
        {**endpoint.identity, "providerIdentity": channel.provider_identity, "action": "news", "payload": {}},
    )
    answer = client.sink.pushes("process-channel-message")[-1]["ackToSender"]
    client.request(
        "disconnect-from-channel",
        {"channelName": "svc", "uuid": "prov", "name": "prov", "endpointId": routing["endpointId"]},
    )
    assert provider.sink.reply_to(message_id)["payload"]["success"] is False
    return client, answer


def test_an_answer_sent_while_leaving_the_channel_is_expected_not_a_warning(runtime: Runtime) -> None:
    client, answer = _publish_to_client_then_client_leaves(runtime)

    with capture_logs() as logs:
        client.send_raw(answer)

    assert [entry["event"] for entry in logs] == ["channel.result.late"]
    assert logs[0]["log_level"] == "debug"


def test_an_answer_nobody_asked_for_is_still_a_warning_positive_control(runtime: Runtime) -> None:
    client, answer = _publish_to_client_then_client_leaves(runtime)
    client.send_raw(answer)

    with capture_logs() as logs:
        client.send_raw(answer)

    assert [(entry["event"], entry["log_level"]) for entry in logs] == [
        ("channel.result.unmatched", "warning")
    ]
