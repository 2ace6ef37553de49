"""The legacy InterApplicationBus between node-adapter connections (FDC3 2.0 intent results use it)."""

from __future__ import annotations

from tests.conformance.conftest import NodeScripts


def test_published_and_sent_messages_reach_subscribers_with_their_source(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    result = node_script.run("runtime/bus_messages.mjs", {"address": runtime_emulator})

    assert result["published"] == {
        "message": {"headline": "hello"},
        "source": {"uuid": "sender", "name": "sender"},
    }
    assert result["sent"] == {"message": "just for you", "source": {"uuid": "sender", "name": "sender"}}
