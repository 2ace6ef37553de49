"""Desktop event subscriptions (``subscribe-to-desktop-event``), delivered as ``process-desktop-event``.

docs/emulators/runtime.md, "Desktop events": subscriptions are ref-counted per (connection, topic, type, uuid,
name); an event is delivered once per matching subscription; the subscription's uuid and name take precedence
over the emitted ones. Channel events are subscribed with no uuid and so reach every subscriber, whoever owns
the channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapter.emulators.runtime.client_link import ClientLink
from adapter.emulators.runtime.frames import push
from adapter.emulators.runtime.refcounts import SubscriptionCounts


@dataclass(frozen=True)
class Subscription:
    """What a connection listens to; ``uuid``/``name`` of ``None`` match any emitter."""

    topic: str
    type: str
    uuid: str | None = None
    name: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Subscription:
        """Read a subscribe/unsubscribe payload; raises ``ValueError`` without a string topic and type."""
        topic, kind = payload.get("topic"), payload.get("type")
        if not isinstance(topic, str) or not isinstance(kind, str):
            raise ValueError("topic and type must be strings")
        uuid, name = payload.get("uuid"), payload.get("name")
        return cls(
            topic=topic,
            type=kind,
            uuid=uuid if isinstance(uuid, str) else None,
            name=name if isinstance(name, str) else None,
        )

    def matches(self, topic: str, kind: str, uuid: str | None, name: str | None) -> bool:
        """True when an event of ``topic``/``kind`` from ``uuid``/``name`` is for this subscription."""
        if (self.topic, self.type) != (topic, kind):
            return False
        if self.uuid is not None and self.uuid != uuid:
            return False
        return self.name is None or self.name == name


class DesktopEvents:
    """Every connection's event subscriptions, and the fan-out of emitted events."""

    def __init__(self) -> None:
        self._subscriptions: SubscriptionCounts[Subscription] = SubscriptionCounts()

    def subscribe(self, connection: ClientLink, subscription: Subscription) -> None:
        """Add one reference to ``subscription`` for ``connection``."""
        self._subscriptions.add(connection, subscription)

    def unsubscribe(self, connection: ClientLink, subscription: Subscription) -> None:
        """Drop one reference; the subscription ends when none is left. Unknown ones are ignored."""
        self._subscriptions.remove(connection, subscription)

    def drop(self, connection: ClientLink) -> None:
        """Forget every subscription of a closed connection."""
        self._subscriptions.drop(connection)

    def count(self, connection: ClientLink) -> int:
        """How many distinct subscriptions ``connection`` holds (for tests and stats)."""
        return len(self._subscriptions.of(connection))

    def emit(
        self,
        topic: str,
        kind: str,
        fields: dict[str, Any],
        *,
        uuid: str | None = None,
        name: str | None = None,
    ) -> int:
        """Push the event to every matching subscription; returns how many pushes were sent.

        ``uuid``/``name`` identify the emitter (default: the ``uuid``/``name`` inside ``fields``).
        """
        emitter_uuid = uuid if uuid is not None else _str_or_none(fields.get("uuid"))
        emitter_name = name if name is not None else _str_or_none(fields.get("name"))
        sent = 0
        for connection, subscriptions in self._subscriptions.items():
            for subscription in subscriptions:
                if not subscription.matches(topic, kind, emitter_uuid, emitter_name):
                    continue
                payload: dict[str, Any] = {**fields, "topic": topic, "type": kind}
                if emitter_uuid is not None:
                    payload["uuid"] = emitter_uuid
                if emitter_name is not None:
                    payload["name"] = emitter_name
                if subscription.uuid is not None:
                    payload["uuid"] = subscription.uuid
                if subscription.name is not None:
                    payload["name"] = subscription.name
                connection.send(push("process-desktop-event", payload))
                sent += 1
        return sent


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
