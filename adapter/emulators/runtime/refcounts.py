"""Subscriptions counted per connection: what desktop events and the InterApplicationBus both keep.

A runtime counts a connection's identical subscriptions: each ``subscribe`` adds a reference, each
``unsubscribe`` drops one, and the subscription ends with its last reference (unknown ones are ignored).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

from adapter.emulators.runtime.client_link import ClientLink

S = TypeVar("S", bound=Hashable)


class SubscriptionCounts(Generic[S]):
    """Each connection's subscriptions with their reference counts."""

    def __init__(self) -> None:
        self._by_connection: dict[ClientLink, Counter[S]] = {}

    def add(self, connection: ClientLink, subscription: S) -> None:
        """One more reference to ``subscription`` for ``connection``."""
        self._by_connection.setdefault(connection, Counter())[subscription] += 1

    def remove(self, connection: ClientLink, subscription: S) -> None:
        """One reference less; the subscription ends with its last one. Unknown ones are ignored."""
        counts = self._by_connection.get(connection)
        if counts is None or subscription not in counts:
            return
        counts[subscription] -= 1
        if counts[subscription] <= 0:
            del counts[subscription]
        if not counts:
            del self._by_connection[connection]

    def drop(self, connection: ClientLink) -> None:
        """Forget every subscription of a closed connection."""
        self._by_connection.pop(connection, None)

    def of(self, connection: ClientLink) -> list[S]:
        """The distinct subscriptions ``connection`` holds."""
        return list(self._by_connection.get(connection, ()))

    def items(self) -> Iterator[tuple[ClientLink, list[S]]]:
        """Every connection with its distinct subscriptions (a snapshot: safe while sending)."""
        for connection, counts in list(self._by_connection.items()):
            yield connection, list(counts)
