"""Our listeners on the runtime's desktop events: who listens to what, and who hears an event. Pure.

A listener asks for events of one key ``(topic, type, uuid, name)``. The runtime is asked to subscribe once
per key (``subscribe-to-desktop-event``), when the key's first listener arrives, and to unsubscribe when the
last one leaves; after a reconnect every key is asked for again. The requests themselves are the
connection's: ``DesktopEventListeners`` only says which keys exist and which listeners an event reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import structlog

from adapter.openfin.frames import DesktopEvent

log = structlog.get_logger(__name__)

EventListener = Callable[[DesktopEvent], None]
"""Called (synchronously, in frame order) with each matching ``process-desktop-event``."""

EventKey = tuple[str, str, str | None, str | None]
"""``(topic, type, uuid, name)``: what a listener asked for; ``uuid``/``name`` of ``None`` match any."""


class EventSubscriptionOwner(Protocol):
    """Whoever made an ``EventSubscription``: it lets the subscription go (and the runtime's, with the last
    listener of its key)."""

    async def unsubscribe_event(self, subscription: EventSubscription) -> None:
        """Remove ``subscription``'s listener."""


class EventSubscription:
    """One listener on desktop events of ``key``; ``unsubscribe`` removes it through its ``owner``."""

    def __init__(self, owner: EventSubscriptionOwner, key: EventKey, listener: EventListener) -> None:
        self.owner = owner
        self.key = key
        self.listener = listener
        self.active = True

    def matches(self, event: DesktopEvent) -> bool:
        """Whether ``event`` is one this subscription asked for (uuid and name only when given)."""
        topic, type_, uuid, name = self.key
        return (
            event.topic == topic
            and event.type == type_
            and (uuid is None or event.uuid == uuid)
            and (name is None or event.name == name)
        )

    async def unsubscribe(self) -> None:
        """Stop listening; the runtime subscription goes when its last local listener does."""
        if self.active:
            self.active = False
            await self.owner.unsubscribe_event(self)


def event_payload(key: EventKey) -> dict[str, Any]:
    """The payload of ``subscribe-to-desktop-event`` / ``unsubscribe-to-desktop-event`` for ``key``."""
    topic, type_, uuid, name = key
    payload: dict[str, Any] = {"topic": topic, "type": type_}
    if uuid is not None:
        payload["uuid"] = uuid
    if name is not None:
        payload["name"] = name
    return payload


class DesktopEventListeners:
    """The listeners of each key, in the order they arrived."""

    def __init__(self) -> None:
        self._by_key: dict[EventKey, list[EventSubscription]] = {}

    def add(self, subscription: EventSubscription) -> bool:
        """Add ``subscription``; ``True`` when it is the first of its key (the runtime must be asked)."""
        listeners = self._by_key.setdefault(subscription.key, [])
        listeners.append(subscription)
        return len(listeners) == 1

    def remove(self, subscription: EventSubscription) -> bool:
        """Remove ``subscription``; ``True`` when its key has no listener left (the runtime may forget it)."""
        listeners = self._by_key.get(subscription.key, [])
        if subscription in listeners:
            listeners.remove(subscription)
        if listeners:
            return False
        self._by_key.pop(subscription.key, None)
        return True

    def keys(self) -> list[EventKey]:
        """Every key with a listener, in the order the keys were first asked for."""
        return list(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[EventSubscription]:
        for listeners in list(self._by_key.values()):
            yield from list(listeners)

    def deliver(self, event: DesktopEvent) -> int:
        """Call every active listener ``event`` matches, in order; returns how many of them raised.

        A listener that raises is logged and the others still hear the event.
        """
        failures = 0
        for subscription in self:
            if subscription.active and subscription.matches(event):
                try:
                    subscription.listener(event)
                except Exception:
                    failures += 1
                    log.exception("runtime.event_listener_failed", topic=event.topic, type=event.type)
        return failures
