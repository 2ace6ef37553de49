"""node-adapter connects to the emulator with both handshakes and sees the runtime's refusals."""

from __future__ import annotations

from tests.conformance.conftest import NodeScripts


def test_file_token_connection_gets_identity_and_answers(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    result = node_script.run("runtime/connect_file_token.mjs", {"address": runtime_emulator, "uuid": "app-1"})

    assert result["me"] == {"uuid": "app-1", "name": "app-1"}
    assert result["version"].startswith("42.")


def test_token_from_register_external_connection_authorizes_a_second_party(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    port = int(runtime_emulator.rsplit(":", 1)[1])

    result = node_script.run(
        "runtime/connect_token.mjs", {"address": runtime_emulator, "sponsor": "platform", "uuid": "sidecar"}
    )

    assert result == {"registeredUuid": "sidecar", "me": "sidecar", "port": port}


def test_wrong_token_is_refused_with_the_runtime_reason(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    process = node_script.start(
        "runtime/connect_token.mjs",
        {"address": runtime_emulator, "sponsor": "platform", "uuid": "sidecar", "tamper": True},
    )

    error = process.error()

    assert error["name"] == "RuntimeError"
    assert error["message"] == "Invalid token or file"


def test_second_connection_with_a_uuid_in_use_is_refused(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    holder = node_script.start("runtime/hold_connection.mjs", {"address": runtime_emulator, "uuid": "taken"})
    holder.wait_for_event("connected")

    process = node_script.start(
        "runtime/connect_file_token.mjs", {"address": runtime_emulator, "uuid": "taken"}
    )
    error = process.error()

    assert error["message"] == "Application with specified UUID already exists: taken"
