"""Session context groups: groups any client may create by id, joined through an ``InteropClient``.

Each group's handlers are channel actions of ours on the broker's channel, as context-group handlers are;
the client replays the group and its handlers whenever it reconnects to the broker. What a group needs of
the client is ``BrokerSeat``: dispatching to the broker, and serving (or no longer serving) a handler id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapter.openfin.context_handlers import (
    ContextHandler,
    ContextHandlerEntry,
    HandlerRegistration,
    check_context,
    random_suffix,
)
from adapter.openfin.errors import ChannelClosedError, DuplicateActionError


class BrokerSeat(Protocol):
    """What a session context group needs of the interop client it was joined through."""

    async def dispatch(self, action: str, payload: Any = None) -> Any:
        """Dispatch ``action`` to the broker and return its answer."""

    def serve_context_handler(self, entry: ContextHandlerEntry) -> None:
        """Serve ``entry``'s handler id on the broker's channel."""

    def remove_action(self, handler_id: str) -> None:
        """Stop serving ``handler_id`` on the broker's channel."""


@dataclass
class SessionGroupState:
    """What we joined of one session context group: its id and our handlers on it (replayed)."""

    group_id: str
    handlers: dict[str, ContextHandlerEntry] = field(default_factory=dict)


async def announce_session_handler(broker: BrokerSeat, group_id: str, entry: ContextHandlerEntry) -> None:
    """Tell the broker that ``entry`` handles contexts of session group ``group_id``."""
    await broker.dispatch(
        f"sessionContextGroup:handlerAdded-{group_id}",
        {"handlerId": entry.handler_id, "contextType": entry.context_type},
    )


class SessionContextGroup:
    """A session context group joined through an ``InteropClient`` (replayed after reconnects)."""

    def __init__(self, broker: BrokerSeat, state: SessionGroupState) -> None:
        self._broker = broker
        self._state = state

    @property
    def id(self) -> str:
        """The group's id."""
        return self._state.group_id

    async def set_context(self, context: Mapping[str, Any]) -> None:
        """Set ``context`` in the group; every member's matching handler receives it."""
        await self._broker.dispatch(
            f"sessionContextGroup:setContext-{self.id}",
            {"sessionContextGroupId": self.id, "context": check_context(context)},
        )

    async def get_current_context(self, context_type: str | None = None) -> dict[str, Any] | None:
        """The group's last context of ``context_type`` (or its last context)."""
        payload: dict[str, Any] = {"sessionContextGroupId": self.id}
        if context_type is not None:
            payload["type"] = context_type
        context = await self._broker.dispatch(f"sessionContextGroup:getContext-{self.id}", payload)
        return context if isinstance(context, dict) else None

    async def add_context_handler(
        self, handler: ContextHandler, context_type: str | None = None
    ) -> HandlerRegistration:
        """Have ``handler`` called with the group's contexts of ``context_type`` (all when ``None``).

        Handler ids as node-adapter's: ``sessionContextHandler:invoke-<group>`` (one untyped handler),
        ``sessionContextHandler:invoke-<group>-<type>-<random>`` for typed ones.
        """
        handler_id = f"sessionContextHandler:invoke-{self.id}"
        if context_type is not None:
            handler_id = f"{handler_id}-{context_type}-{random_suffix()}"
        elif handler_id in self._state.handlers:
            raise DuplicateActionError(handler_id)
        entry = ContextHandlerEntry(handler_id, context_type, handler)
        self._broker.serve_context_handler(entry)
        self._state.handlers[handler_id] = entry
        try:
            await announce_session_handler(self._broker, self.id, entry)
        except BaseException:
            del self._state.handlers[handler_id]
            self._broker.remove_action(handler_id)
            raise

        async def remove() -> None:
            if self._state.handlers.pop(handler_id, None) is None:
                return
            self._broker.remove_action(handler_id)
            with contextlib.suppress(ChannelClosedError):
                await self._broker.dispatch(
                    f"sessionContextGroup:handlerRemoved-{self.id}", {"handlerId": handler_id}
                )

        return HandlerRegistration(handler_id, remove)
