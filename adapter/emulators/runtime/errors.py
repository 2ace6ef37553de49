"""Errors of the runtime emulator: one for refusing a client's action, one for an in-process caller."""

from __future__ import annotations

from typing import Any


class ActionRefusedError(Exception):
    """Refuse the current action: the client gets a failure ack carrying ``reason`` (and ``error`` if set)."""

    def __init__(self, reason: str, error: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


class RuntimeRequestError(Exception):
    """A request made through an ``InternalConnection`` got a failure ack."""

    def __init__(self, action: str, reason: str, error: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.action = action
        self.reason = reason
        self.error = error
