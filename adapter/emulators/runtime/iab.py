"""The legacy InterApplicationBus: ``subscribe``/``unsubscribe``, ``publish-message`` and ``send-message``.

Only FDC3 2.0 intent results still travel this way (docs/emulators/runtime.md, "InterApplicationBus"): the
raiser subscribes to a topic named by a GUID and the handler publishes its result there; the runtime delivers
``process-message``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from adapter.emulators.runtime.client_link import ClientLink
from adapter.emulators.runtime.errors import ActionRefusedError
from adapter.emulators.runtime.frames import push
from adapter.emulators.runtime.refcounts import SubscriptionCounts

ANY = "*"


@dataclass(frozen=True)
class BusSubscription:
    """A topic, filtered by sender; ``*`` matches every sender."""

    topic: str
    source_uuid: str = ANY
    source_name: str = ANY

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> BusSubscription:
        """Read a subscribe/unsubscribe payload; the topic is required."""
        topic = payload.get("topic")
        if not isinstance(topic, str):
            raise ActionRefusedError("Invalid payload: bad or missing topic")
        return cls(
            topic=topic,
            source_uuid=str(payload.get("sourceUuid") or ANY),
            source_name=str(payload.get("sourceWindowName") or ANY),
        )

    def matches(self, topic: str, uuid: str, name: str) -> bool:
        """True when a message on ``topic`` from ``uuid``/``name`` is for this subscription."""
        return self.topic == topic and self.source_uuid in (ANY, uuid) and self.source_name in (ANY, name)


class InterAppBus:
    """Subscriptions of every connection and the fan-out of messages."""

    def __init__(self, connections: Callable[[], Iterable[ClientLink]]) -> None:
        self._connections = connections
        self._subscriptions: SubscriptionCounts[BusSubscription] = SubscriptionCounts()

    def subscribe(self, connection: ClientLink, payload: dict[str, Any]) -> None:
        """``subscribe``: add one reference to the subscription."""
        self._subscriptions.add(connection, BusSubscription.from_payload(payload))

    def unsubscribe(self, connection: ClientLink, payload: dict[str, Any]) -> None:
        """``unsubscribe``: drop one reference; unknown subscriptions are ignored."""
        self._subscriptions.remove(connection, BusSubscription.from_payload(payload))

    def publish(self, connection: ClientLink, payload: dict[str, Any]) -> int:
        """``publish-message``: deliver to every subscriber of the topic; returns how many got it."""
        return self._deliver(connection, payload, destination=None)

    def send(self, connection: ClientLink, payload: dict[str, Any]) -> int:
        """``send-message``: deliver to the subscribers of the topic with ``destinationUuid`` (and name)."""
        destination = payload.get("destinationUuid")
        if not isinstance(destination, str):
            raise ActionRefusedError("Invalid payload: bad or missing destinationUuid")
        return self._deliver(connection, payload, destination=destination)

    def drop(self, connection: ClientLink) -> None:
        """Forget a closed connection's subscriptions."""
        self._subscriptions.drop(connection)

    def _deliver(self, sender: ClientLink, payload: dict[str, Any], destination: str | None) -> int:
        topic = payload.get("topic")
        if not isinstance(topic, str):
            raise ActionRefusedError("Invalid payload: bad or missing topic")
        assert sender.uuid is not None
        source_name = str(payload.get("sourceWindowName") or sender.uuid)
        message = {
            "message": payload.get("message"),
            "sourceUuid": sender.uuid,
            "sourceWindowName": source_name,
            "topic": topic,
        }
        delivered = 0
        for connection in list(self._connections()):
            if destination is not None and connection.uuid != destination:
                continue
            subscriptions = self._subscriptions.of(connection)
            if any(s.matches(topic, sender.uuid, source_name) for s in subscriptions):
                connection.send(push("process-message", {**message, "destinationUuid": connection.uuid}))
                delivered += 1
        return delivered
