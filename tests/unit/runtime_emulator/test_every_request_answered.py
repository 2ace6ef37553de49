"""Property: whatever payload a client sends, each request gets one reply and the runtime survives."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.emulators.runtime.auth import TokenFiles
from adapter.emulators.runtime.runtime import Runtime, RuntimeSettings
from tests.unit.runtime_emulator.conftest import file_token_handshake

# Actions answered synchronously (relayed and asynchronous actions are covered by their own tests).
ACTIONS = [
    "register-external-connection",
    "subscribe-to-desktop-event",
    "unsubscribe-to-desktop-event",
    "create-channel",
    "connect-to-channel",
    "send-channel-message",
    "disconnect-from-channel",
    "destroy-channel",
    "get-all-channels",
    "get-version",
    "get-runtime-info",
    "get-info",
    "get-entity-info",
    "get-window-info",
    "subscribe",
    "unsubscribe",
    "publish-message",
    "send-message",
    "create-application",
    "run-application",
    "close-window",
    "close-application",
    "destroy-application",
    "open-url-with-browser",
    "interop-init",
    "no-such-action",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
payloads = st.dictionaries(
    st.sampled_from(["uuid", "name", "channelName", "channelId", "endpointId", "topic", "type", "url", "x"]),
    json_values,
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(action=st.sampled_from(ACTIONS), payload=payloads)
def test_each_request_gets_exactly_one_reply(action: str, payload: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        runtime = Runtime(RuntimeSettings(), token_files=TokenFiles(Path(directory)))
        party = file_token_handshake(runtime, "fuzzer")

        message_id = party.send(action, payload)

        replies = [f for f in party.sink.frames if f.get("correlationId") == message_id]
        assert len(replies) == 1
        assert replies[0]["action"] == "ack"
        assert isinstance(replies[0]["payload"]["success"], bool)
        assert party.request("get-version")["success"] is True
