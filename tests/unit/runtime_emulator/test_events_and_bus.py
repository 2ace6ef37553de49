"""Desktop event subscriptions and the legacy InterApplicationBus fan-out, on the pure core."""

from __future__ import annotations

from adapter.emulators.runtime.frames import MASKED, loggable
from adapter.emulators.runtime.runtime import Runtime
from tests.unit.runtime_emulator.conftest import file_token_handshake


def test_subscription_is_ref_counted_and_delivered_once(runtime: Runtime) -> None:
    party = file_token_handshake(runtime, "app")
    subscription = {"topic": "system", "type": "application-closed"}
    party.request("subscribe-to-desktop-event", subscription)
    party.request("subscribe-to-desktop-event", subscription)
    party.request("unsubscribe-to-desktop-event", subscription)
    party.sink.take()

    runtime.events.emit("system", "application-closed", {"uuid": "x"})

    assert party.sink.pushes("process-desktop-event") == [
        {"uuid": "x", "topic": "system", "type": "application-closed"}
    ]


def test_window_events_reach_only_subscribers_of_that_window(runtime: Runtime) -> None:
    mine = file_token_handshake(runtime, "mine")
    other = file_token_handshake(runtime, "other")
    mine.request(
        "subscribe-to-desktop-event", {"topic": "window", "type": "url-changed", "uuid": "w", "name": "w"}
    )
    other.request(
        "subscribe-to-desktop-event", {"topic": "window", "type": "url-changed", "uuid": "z", "name": "z"}
    )

    runtime.events.emit("window", "url-changed", {"url": "https://a"}, uuid="w", name="w")

    assert mine.sink.pushes("process-desktop-event") == [
        {"url": "https://a", "topic": "window", "type": "url-changed", "uuid": "w", "name": "w"}
    ]
    assert other.sink.pushes("process-desktop-event") == []


def test_subscriptions_end_with_the_connection(runtime: Runtime) -> None:
    party = file_token_handshake(runtime, "app")
    party.request("subscribe-to-desktop-event", {"topic": "channel", "type": "connected"})

    party.close()

    assert runtime.events.emit("channel", "connected", {"uuid": "p"}) == 0


def test_bus_publish_reaches_subscribers_of_the_topic(runtime: Runtime) -> None:
    raiser = file_token_handshake(runtime, "raiser")
    handler = file_token_handshake(runtime, "handler")
    raiser.request("subscribe", {"sourceUuid": "*", "sourceWindowName": "*", "topic": "result-1"})

    assert handler.request("publish-message", {"topic": "result-1", "message": {"ok": 1}}) == {
        "success": True
    }

    [message] = raiser.sink.pushes("process-message")
    assert message["message"] == {"ok": 1}
    assert (message["sourceUuid"], message["sourceWindowName"], message["topic"]) == (
        "handler",
        "handler",
        "result-1",
    )


def test_bus_send_reaches_only_the_destination(runtime: Runtime) -> None:
    first = file_token_handshake(runtime, "first")
    second = file_token_handshake(runtime, "second")
    sender = file_token_handshake(runtime, "sender")
    for party in (first, second):
        party.request("subscribe", {"sourceUuid": "sender", "topic": "t"})

    sender.request("send-message", {"destinationUuid": "second", "topic": "t", "message": "hi"})

    assert first.sink.pushes("process-message") == []
    assert [m["message"] for m in second.sink.pushes("process-message")] == ["hi"]


def test_bus_subscription_filters_by_sender(runtime: Runtime) -> None:
    listener = file_token_handshake(runtime, "listener")
    stranger = file_token_handshake(runtime, "stranger")
    listener.request("subscribe", {"sourceUuid": "friend", "topic": "t"})

    stranger.request("publish-message", {"topic": "t", "message": "spam"})

    assert listener.sink.pushes("process-message") == []


def test_bus_unsubscribe_stops_delivery(runtime: Runtime) -> None:
    listener = file_token_handshake(runtime, "listener")
    publisher = file_token_handshake(runtime, "publisher")
    listener.request("subscribe", {"sourceUuid": "*", "topic": "t"})
    listener.request("unsubscribe", {"sourceUuid": "*", "topic": "t"})

    publisher.request("publish-message", {"topic": "t", "message": "late"})

    assert listener.sink.pushes("process-message") == []


def test_frame_log_masks_payloads_of_message_actions() -> None:
    frame = {"action": "publish-message", "payload": {"message": "secret"}, "messageId": 3}

    assert loggable(frame) == {"action": "publish-message", "payload": MASKED, "messageId": 3}
    assert loggable({"action": "get-version", "payload": {}}) == {"action": "get-version", "payload": {}}


def test_frame_log_masks_query_strings_of_urls() -> None:
    frame = {
        "action": "process-desktop-event",
        "payload": {"type": "url-changed", "url": "https://i/r?code=c1"},
    }

    assert loggable(frame)["payload"] == {"type": "url-changed", "url": f"https://i/r?{MASKED}"}


def test_runtime_info_names_the_port(runtime: Runtime) -> None:
    runtime.port = 9701
    party = file_token_handshake(runtime, "app")

    info = party.request("get-runtime-info")["data"]

    assert info["port"] == 9701
    assert info["version"] == runtime.settings.version


def test_entity_info_describes_an_external_connection(runtime: Runtime) -> None:
    party = file_token_handshake(runtime, "app")

    info = party.request("get-entity-info", {"uuid": "app", "name": "app"})["data"]

    assert info == {"uuid": "app", "name": "app", "entityType": "external connection"}


def test_get_info_of_an_external_connection_is_a_failure_ack(runtime: Runtime) -> None:
    party = file_token_handshake(runtime, "app")

    reply = party.request("get-info", {"uuid": "app"})

    assert reply["success"] is False
