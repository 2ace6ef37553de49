"""Channels between two node-adapter parties, routed by the emulator."""

from __future__ import annotations

from tests.conformance.conftest import NodeScripts


def test_client_waits_for_channel_then_both_sides_dispatch_and_publish(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    result = node_script.run(
        "runtime/channel_dispatch.mjs", {"address": runtime_emulator, "channelName": "svc"}
    )

    assert result["connectionPayload"] == {"hello": "provider"}
    identity = result["connectionIdentity"]
    assert identity["uuid"] == identity["name"] == "client-app"
    assert identity["isExternal"] is True
    assert identity["entityType"] == "external connection"
    assert identity["endpointId"]
    routing = result["routingInfo"]
    assert routing["uuid"] == "provider-app"
    assert routing["channelName"] == "svc"
    assert routing["endpointId"] == identity["endpointId"]
    assert routing["result"] == {"welcome": "client-app"}
    assert result["echo"] == {"echoed": {"x": 1}, "from": "client-app"}
    assert result["ping"] == {"pong": 42}
    assert result["news"] == {"headline": "hi"}
    assert result["publishResults"] == ["thanks"]


def test_provider_errors_reach_the_client_with_their_names(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    result = node_script.run(
        "runtime/channel_errors.mjs", {"address": runtime_emulator, "channelName": "svc"}
    )

    sync_error = result["syncThrow"]["error"]
    assert sync_error["name"] == "ChannelError"
    assert sync_error["message"] == "bad input"
    assert sync_error["cause"] == {"name": "TypeError", "message": "bad input"}
    async_error = result["asyncThrow"]["error"]
    assert async_error["message"] == "out of range"
    assert async_error["cause"]["name"] == "RangeError"
    client_error = result["providerToClientThrow"]["error"]
    assert client_error["message"] == "client side"
    assert client_error["cause"]["name"] == "SyntaxError"


def test_unknown_action_fails_with_the_targets_wording(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    result = node_script.run(
        "runtime/channel_errors.mjs", {"address": runtime_emulator, "channelName": "svc"}
    )

    assert result["unknown"]["error"]["message"] == "No action registered at target for no-such-action"
    assert (
        result["providerToClientUnknown"]["error"]["message"]
        == "No action registered at target for nothing-here"
    )


def test_provider_can_reject_a_connection_with_a_reason(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    result = node_script.run("runtime/channel_refusals.mjs", {"address": runtime_emulator})

    assert result["rejected"] == {
        "name": "RuntimeError",
        "className": "RuntimeError",
        "message": "not allowed: client-app",
    }
    assert result["acceptedChannel"] == "guarded"


def test_connect_without_wait_to_a_missing_channel_fails_at_once(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    result = node_script.run("runtime/channel_refusals.mjs", {"address": runtime_emulator})

    assert result["missing"]["message"] == "No channel found for channelName: nobody-home."


def test_creating_a_channel_name_twice_is_refused(runtime_emulator: str, node_script: NodeScripts) -> None:
    result = node_script.run("runtime/channel_refusals.mjs", {"address": runtime_emulator})

    assert result["duplicate"]["message"] == (
        "Channel creation failed: Please note that only one channel may be registered per channelName."
    )


def test_client_disconnect_reaches_the_provider_with_the_client_identity(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    result = node_script.run("runtime/channel_teardown.mjs", {"address": runtime_emulator})

    left = result["leftIdentity"]
    assert (left["uuid"], left["endpointId"], left["channelName"]) == (
        "client-app",
        result["firstEndpoint"],
        "teardown",
    )
    assert result["connectionsAfterDisconnect"] == 0


def test_provider_destroy_disconnects_its_clients(runtime_emulator: str, node_script: NodeScripts) -> None:
    result = node_script.run("runtime/channel_teardown.mjs", {"address": runtime_emulator})

    gone = result["goneEvent"]
    assert (gone["type"], gone["uuid"], gone["channelName"]) == ("disconnected", "provider-app", "teardown")
    assert result["dispatchAfterDestroy"] is not None
    assert result["channels"] == []


def test_client_process_exit_is_a_client_disconnection_for_the_provider(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    params = {"address": runtime_emulator, "channelName": "svc"}
    provider = node_script.start("runtime/provider_process.mjs", {**params, "uuid": "provider-app"})
    provider.wait_for_event("ready")
    client = node_script.start("runtime/client_process.mjs", {**params, "uuid": "client-app"})
    assert client.wait_for_event("connected") == {"from": "client-app"}

    client.send({"leave": True})
    assert client.result() == {"toldToLeave": True}
    left = provider.wait_for_event("client-disconnected")

    assert left["uuid"] == "client-app"
    assert left["channelName"] == "svc"


def test_provider_process_exit_disconnects_its_clients(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    params = {"address": runtime_emulator, "channelName": "svc"}
    provider = node_script.start("runtime/provider_process.mjs", {**params, "uuid": "provider-app"})
    provider.wait_for_event("ready")
    client = node_script.start("runtime/client_process.mjs", {**params, "uuid": "client-app"})
    client.wait_for_event("connected")

    provider.send({"leave": True})
    provider.result()
    gone = client.result()["providerGone"]

    assert (gone["type"], gone["uuid"], gone["channelName"]) == ("disconnected", "provider-app", "svc")


def test_a_connection_without_payload_reaches_the_provider_as_undefined(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    seen = node_script.run(
        "runtime/channel_connect_payload.mjs", {"address": runtime_emulator, "channelName": "bare"}
    )

    # A runtime forwards the client's frame: no payload key, so onConnection gets undefined (not null).
    assert seen == [
        {"uuid": "bare-client", "type": "undefined"},
        {"uuid": "loaded-client", "type": "object", "payload": {"hi": 1}},
    ]
