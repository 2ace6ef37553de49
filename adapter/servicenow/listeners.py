"""State listeners: the one way a connection and the manager hand out and take back a listener."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

L = TypeVar("L")


def add_listener(listeners: list[L], listener: L) -> Callable[[], None]:
    """Append ``listener`` to ``listeners``; the returned remover takes it out again (once, harmlessly)."""
    listeners.append(listener)

    def remove() -> None:
        if listener in listeners:
            listeners.remove(listener)

    return remove
