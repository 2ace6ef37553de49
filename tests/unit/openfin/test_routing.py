"""The connection's pure core: where each frame from the runtime goes, without a socket or a task."""

from __future__ import annotations

import json
from collections.abc import Coroutine
from typing import Any

import pytest

from adapter.openfin.correlator import Correlator
from adapter.openfin.desktop_events import EventSubscription
from adapter.openfin.frames import ChannelConnectionPayload, ChannelMessagePayload, DesktopEvent
from adapter.openfin.routing import (
    ConnectionDelivery,
    ConnectionStats,
    FrameRouter,
    MessageDelivery,
    ProviderMessage,
    Refusal,
)

ACK = {"action": "send-channel-result", "payload": {"correlationId": 7, "destinationToken": "t"}}


class Endpoint:
    """A provider or client endpoint; routing only picks it, so it never runs here."""

    async def handle_connection(self, push: ChannelConnectionPayload) -> None:
        raise AssertionError("routing does not run handlers")

    async def handle_message(self, push: ChannelMessagePayload) -> None:
        raise AssertionError("routing does not run handlers")

    def serve_message(self, push: ChannelMessagePayload) -> Coroutine[Any, Any, None] | None:
        raise AssertionError("routing does not run handlers")


class Owner:
    """Who made the test's subscriptions; records what was let go."""

    def __init__(self) -> None:
        self.unsubscribed: list[EventSubscription] = []

    async def unsubscribe_event(self, subscription: EventSubscription) -> None:
        self.unsubscribed.append(subscription)


def router(**bounds: Any) -> FrameRouter:
    return FrameRouter("adapter-uuid", Correlator(), ConnectionStats(), **bounds)


def channel_message(target: dict[str, Any], action: str = "servicenow.status") -> str:
    return json.dumps(
        {
            "action": "process-channel-message",
            "payload": {
                "ackToSender": ACK,
                "providerIdentity": {"uuid": "p", "name": "p", "channelId": "p/ch", "channelName": "ch"},
                "action": action,
                "senderIdentity": {"uuid": "app", "name": "app", "endpointId": "e-app"},
                "payload": {},
                "intendedTargetIdentity": target,
            },
        }
    )


def channel_connection(channel_id: str, channel_name: str) -> str:
    return json.dumps(
        {
            "action": "process-channel-connection",
            "payload": {
                "ackToSender": ACK,
                "providerIdentity": {
                    "uuid": "adapter-uuid",
                    "name": "adapter-uuid",
                    "channelId": channel_id,
                    "channelName": channel_name,
                },
                "clientIdentity": {"uuid": "app", "name": "app", "endpointId": "e-app"},
            },
        }
    )


def desktop_event(topic: str, type_: str, **fields: Any) -> str:
    return json.dumps(
        {"action": "process-desktop-event", "payload": {"topic": topic, "type": type_, **fields}}
    )


async def test_a_reply_resolves_its_request_and_asks_nothing() -> None:
    core = router()
    message_id = core.correlator.open("get-version")

    reply = {"action": "ack", "correlationId": message_id, "payload": {"success": True, "data": "42"}}

    assert core.route(json.dumps(reply)) is None
    assert await core.correlator.wait(message_id, timeout=1) == "42"


def test_a_message_for_our_provider_goes_to_it_by_channel_id() -> None:
    core = router()
    provider, client = Endpoint(), Endpoint()
    core.register_provider("p/ch", provider)
    core.register_client("e-1", client)

    routed = core.route(channel_message({"channelId": "p/ch"}))

    assert isinstance(routed, ProviderMessage)
    assert routed.provider is provider
    assert routed.push.action == "servicenow.status"
    assert routed.task_name == "openfin-action-servicenow.status"


def test_a_message_for_our_client_goes_to_it_by_endpoint_id() -> None:
    core = router()
    provider, client = Endpoint(), Endpoint()
    core.register_provider("p/ch", provider)
    core.register_client("e-1", client)

    routed = core.route(channel_message({"endpointId": "e-1"}))

    assert isinstance(routed, MessageDelivery)
    assert routed.endpoint is client


def test_a_message_for_an_unregistered_endpoint_is_refused_in_node_adapters_words() -> None:
    core = router()
    core.register_client("e-1", Endpoint())
    core.unregister_client("e-1")

    routed = core.route(channel_message({"endpointId": "e-1"}))

    assert isinstance(routed, Refusal)
    assert routed.frame["payload"]["success"] is False
    assert routed.frame["payload"]["reason"] == (
        "Client connection with identity uuid: adapter-uuid / name: adapter-uuid / "
        "endpointId: e-1 no longer connected."
    )
    assert routed.frame["payload"]["correlationId"] == 7


def test_the_refusal_names_the_uuid_the_runtime_assigned() -> None:
    core = router()
    core.uuid = "assigned-uuid"

    routed = core.route(channel_message({}))

    assert isinstance(routed, Refusal)
    assert "uuid: assigned-uuid / name: assigned-uuid / endpointId: None" in routed.frame["payload"]["reason"]


def test_a_connection_goes_to_the_provider_of_its_channel_id() -> None:
    core = router()
    provider = Endpoint()
    core.register_provider("p/ch", provider)

    routed = core.route(channel_connection("p/ch", "ch"))

    assert isinstance(routed, ConnectionDelivery)
    assert routed.provider is provider
    assert routed.task_name == "openfin-connection-ch"


def test_a_connection_during_create_channel_goes_to_the_channel_being_created() -> None:
    core = router()
    creating = Endpoint()
    core.expect_provider("ch", creating)

    routed = core.route(channel_connection("not-known-yet", "ch"))

    assert isinstance(routed, ConnectionDelivery)
    assert routed.provider is creating


def test_a_connection_to_a_channel_we_no_longer_provide_is_refused() -> None:
    core = router()
    core.expect_provider("ch", Endpoint())
    core.expect_provider("ch", None)
    core.register_provider("p/ch", Endpoint())
    core.unregister_provider("p/ch")

    routed = core.route(channel_connection("p/ch", "ch"))

    assert isinstance(routed, Refusal)
    assert routed.frame["payload"]["reason"] == 'Channel "ch" has been destroyed.'
    assert routed.task_name == "openfin-refuse-connection"


def test_a_desktop_event_reaches_the_matching_listeners_at_once() -> None:
    core = router()
    heard: list[tuple[str, DesktopEvent]] = []
    any_window = EventSubscription(
        Owner(), ("window", "closed", None, None), lambda e: heard.append(("any", e))
    )
    one_window = EventSubscription(
        Owner(), ("window", "closed", "a", "w"), lambda e: heard.append(("one", e))
    )
    other_type = EventSubscription(Owner(), ("window", "shown", None, None), lambda e: heard.append(("x", e)))
    for subscription in (any_window, one_window, other_type):
        core.events.add(subscription)

    assert core.route(desktop_event("window", "closed", uuid="b", name="w")) is None
    assert core.route(desktop_event("window", "closed", uuid="a", name="w")) is None

    assert [(who, event.uuid) for who, event in heard] == [("any", "b"), ("any", "a"), ("one", "a")]


def test_a_listener_that_raises_is_counted_and_the_others_still_hear() -> None:
    core = router()
    heard: list[DesktopEvent] = []

    def broken(event: DesktopEvent) -> None:
        raise RuntimeError("listener bug")

    core.events.add(EventSubscription(Owner(), ("channel", "connected", None, None), broken))
    core.events.add(EventSubscription(Owner(), ("channel", "connected", None, None), heard.append))

    core.route(desktop_event("channel", "connected"))

    assert len(heard) == 1
    assert core.stats.errors == 1


def test_an_unparseable_frame_is_counted_and_asks_nothing() -> None:
    core = router()

    assert core.route("not json") is None
    assert core.route(json.dumps({"no": "action"})) is None

    assert core.stats.errors == 2


def test_an_oversized_push_is_refused_to_its_sender_by_name() -> None:
    core = router(max_frame_bytes=2000)
    core.register_provider("p/ch", Endpoint())
    frame = json.loads(channel_message({"channelId": "p/ch"}))
    frame["payload"]["payload"] = {"text": "x" * 3000}

    routed = core.route(json.dumps(frame))

    assert isinstance(routed, Refusal)
    assert routed.frame["payload"]["error"]["name"] == "MessageTooLargeError"
    assert routed.task_name == "openfin-refuse-frame"
    assert core.stats.errors == 1


def test_a_push_nobody_routes_is_ignored() -> None:
    core = router()

    routed = core.route(json.dumps({"action": "process-message", "payload": {"topic": "t", "message": 1}}))

    assert routed is None
    assert core.stats.errors == 0


@pytest.mark.parametrize("raw", ["[]", "3", json.dumps({"action": 5})])
def test_a_frame_that_is_not_an_envelope_is_counted(raw: str) -> None:
    core = router()

    assert core.route(raw) is None
    assert core.stats.errors == 1
