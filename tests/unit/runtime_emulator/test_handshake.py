"""Handshakes and the refusals of an unauthorized or unknown request (docs/emulators/runtime.md)."""

from __future__ import annotations

import json
from pathlib import Path

from adapter.emulators.runtime.runtime import Runtime
from tests.unit.runtime_emulator.conftest import file_token_handshake, open_party


def test_file_token_offer_is_uncorrelated_and_names_a_file_in_the_private_dir(runtime: Runtime) -> None:
    party = open_party(runtime)

    party.send("request-external-authorization", {"uuid": "app", "type": "file-token"}, message_id=0)

    frame = party.sink.last()
    assert "correlationId" not in frame
    assert frame["action"] == "external-authorization-response"
    assert frame["payload"]["uuid"] == "app"
    assert Path(frame["payload"]["file"]).parent == runtime.token_files.directory
    assert frame["payload"]["token"]


def test_file_containing_the_token_authorizes_and_is_deleted(runtime: Runtime) -> None:
    party = open_party(runtime)
    party.send("request-external-authorization", {"uuid": "app", "type": "file-token"}, message_id=0)
    offer = party.sink.last()["payload"]
    Path(offer["file"]).write_text(f"prefix {offer['token']}\n", encoding="utf-8")

    party.send("request-authorization", {"uuid": "app", "type": "file-token", "address": "ws://x"})

    assert party.sink.last() == {"action": "authorization-response", "payload": {"success": True}}
    assert not Path(offer["file"]).exists()
    assert party.connection.identity == {"uuid": "app", "name": "app"}


def test_wrong_file_content_is_refused_and_the_socket_closed(runtime: Runtime) -> None:
    party = open_party(runtime)
    party.send("request-external-authorization", {"uuid": "app", "type": "file-token"}, message_id=0)
    Path(party.sink.last()["payload"]["file"]).write_text("not the token", encoding="utf-8")

    party.send("request-authorization", {"uuid": "app", "type": "file-token"})

    assert party.sink.last() == {
        "action": "authorization-response",
        "payload": {"success": False, "reason": "Invalid token or file"},
    }
    assert party.sink.closed


def test_authorization_without_a_pending_request_names_the_uuid(runtime: Runtime) -> None:
    party = open_party(runtime)

    party.send("request-authorization", {"uuid": "ghost", "type": "file-token"})

    assert party.sink.last()["payload"] == {"success": False, "reason": "Invalid UUID: ghost"}


def test_uuid_already_connected_is_refused(runtime: Runtime) -> None:
    file_token_handshake(runtime, "app")
    second = open_party(runtime)
    second.send("request-external-authorization", {"uuid": "app", "type": "file-token"}, message_id=0)
    offer = second.sink.last()["payload"]
    Path(offer["file"]).write_text(offer["token"], encoding="utf-8")

    second.send("request-authorization", {"uuid": "app", "type": "file-token"})

    assert second.sink.last()["payload"] == {
        "success": False,
        "reason": "Application with specified UUID already exists: app",
    }


def test_registered_token_authorizes_its_uuid_and_stays_valid(runtime: Runtime) -> None:
    sponsor = file_token_handshake(runtime, "platform")
    token = sponsor.request("register-external-connection", {"uuid": "sidecar"})["data"]["token"]
    first = open_party(runtime)
    first.send("request-authorization", {"uuid": "sidecar", "token": token})
    assert first.sink.last()["payload"] == {"success": True}
    first.close()

    again = open_party(runtime)
    again.send("request-authorization", {"uuid": "sidecar", "token": token})

    assert again.sink.last()["payload"] == {"success": True}


def test_token_of_another_uuid_is_refused(runtime: Runtime) -> None:
    sponsor = file_token_handshake(runtime, "platform")
    token = sponsor.request("register-external-connection", {"uuid": "sidecar"})["data"]["token"]
    party = open_party(runtime)

    party.send("request-authorization", {"uuid": "intruder", "token": token})

    assert party.sink.last()["payload"] == {"success": False, "reason": "Invalid token or file"}


def test_actions_before_authorization_are_refused_with_the_runtime_wording(runtime: Runtime) -> None:
    party = open_party(runtime)

    reply = party.request("create-channel", {"channelName": "x"})

    assert reply == {"success": False, "reason": "This connection must be authenticated first"}
    assert runtime.channels.get("x") is None


def test_unknown_action_is_refused_with_the_runtime_wording(runtime: Runtime) -> None:
    party = file_token_handshake(runtime, "app")

    reply = party.request("warp-drive", {})

    version = runtime.settings.version
    assert reply == {
        "success": False,
        "reason": f"API call warp-drive not implemented in runtime version: {version}.",
    }


def test_analytics_actions_are_acked(runtime: Runtime) -> None:
    party = file_token_handshake(runtime, "app")

    assert party.request("interop-client-set-context") == {"success": True}
    assert party.request("get-current-application-sync") == {"success": True}


def test_malformed_frames_do_not_break_the_connection(runtime: Runtime) -> None:
    party = file_token_handshake(runtime, "app")

    runtime.receive(party.connection, "{not json")
    runtime.receive(party.connection, json.dumps({"payload": {}, "messageId": 7}))

    assert party.sink.reply_to(7)["payload"]["success"] is False
    assert party.request("get-version")["data"] == runtime.settings.version


def test_closing_before_authorizing_deletes_the_pending_token_file(runtime: Runtime) -> None:
    party = open_party(runtime)
    party.send("request-external-authorization", {"uuid": "app", "type": "file-token"}, message_id=0)
    file = Path(party.sink.last()["payload"]["file"])
    file.write_text("half done", encoding="utf-8")

    party.close()

    assert not file.exists()
    assert runtime.connections == []
