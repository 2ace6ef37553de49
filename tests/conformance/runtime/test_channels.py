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
