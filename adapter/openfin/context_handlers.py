"""Context handlers on the interop broker: what registering one leaves behind, and the checks they share.

Used by ``InteropClient`` (handlers on our context group) and ``SessionContextGroup`` (handlers on a session
context group): each handler is a channel action of ours, named by its handler id, that the broker dispatches
every matching context to.
"""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapter.openfin.errors import InvalidContextError

ContextHandler = Callable[[dict[str, Any]], Awaitable[None] | None]
"""Called with each context the broker delivers (a dict with a ``type``); its return value is ignored."""


def random_suffix() -> str:
    """The random tail of a typed handler's id, as node-adapter adds one."""
    return secrets.token_hex(8)


def check_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """``context`` as a dict; ``InvalidContextError`` unless it is an object with a non-empty ``type``."""
    if not isinstance(context, Mapping):
        raise InvalidContextError("A context must be an object")
    context_type = context.get("type")
    if not isinstance(context_type, str) or not context_type:
        raise InvalidContextError("A context must have a non-empty string 'type'")
    return dict(context)


@dataclass
class HandlerRegistration:
    """A registered context or intent handler; ``await unsubscribe()`` removes it."""

    handler_id: str
    _remove: Callable[[], Awaitable[None]]

    async def unsubscribe(self) -> None:
        """Remove the handler locally and from the broker."""
        await self._remove()


@dataclass
class ContextHandlerEntry:
    """One context handler: its id (the channel action the broker dispatches to), type and function."""

    handler_id: str
    context_type: str | None
    handler: ContextHandler

    async def deliver(self, context: Any) -> None:
        """Call the handler with ``context`` (anything but an object counts as ``{}``)."""
        outcome = self.handler(context if isinstance(context, dict) else {})
        if inspect.isawaitable(outcome):
            await outcome
