"""``InteropClient``: our seat on a platform's interop broker (FDC3 context and intents over a channel).

The broker is the channel provider ``interop-broker-<platform uuid>``. Everything here is a channel action
on it (docs/emulators/interop-broker.md): context groups, ``setContext``, context handlers (channel actions of
ours named by handler id, registered locally *before* the broker is told, since it replays the current
context at once), session context groups and intent handlers (``intent-handler-<Name>``, whose return value
is the intent's result; for FDC3 2.0 raisers it is also published on the InterApplicationBus topic the
intent names in ``metadata.intentResolutionResultId``).

What we registered is remembered and replayed whenever the broker connection is re-established: after a
runtime reconnect, or when the broker itself went away and came back.

A handler that fails must not leave its intent dead. The stock ``InteropBroker`` delivers through
``setIntentTarget``, and when a delivery is refused it marks that handler not ready: every later raise of the
intent is queued until the client announces ``intentHandlerRegistered`` again (which re-delivers the last
queued intent). So once a refusal's reply has left, we announce the handler again, and once more after the
broker has answered that announcement: node's websocket may hand the broker our refusal and our first
announcement in one read, the announcement handled before the refusal's rejection marks the handler not
ready, while the second is sent only after a round trip through the broker, so it arrives after the
rejection was handled. A broker that keeps no such state simply records the same handler again. The
re-delivery of the refused intent that an announcement brings is answered with the same refusal, without
running the handler again (it may have written already) and without asking for another announcement (a
refused re-delivery leaves the stock broker's handler ready), so announcements stop: each raise refused
costs at most two.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import Field

from adapter.openfin.broker_channel import BrokerChannel, RefusedDelivery
from adapter.openfin.connection import RuntimeConnection
from adapter.openfin.context_handlers import (
    ContextHandler,
    ContextHandlerEntry,
    HandlerRegistration,
    check_context,
    random_suffix,
)
from adapter.openfin.errors import (
    DuplicateActionError,
    OpenFinError,
    RequestTimeoutError,
    RuntimeNotConnectedError,
    RuntimeRequestError,
)
from adapter.openfin.frames import (
    ClientIdentity,
    RoutingInfo,
    WireModel,
)
from adapter.openfin.reconnect import Backoff
from adapter.openfin.session_groups import SessionContextGroup, SessionGroupState, announce_session_handler

log = structlog.get_logger(__name__)

UNTYPED_HANDLER_ID = "invokeContextHandler"
RECENT_REFUSALS = 8
"""Refused deliveries remembered per handler (by digest), to recognise the broker re-delivering one."""
ANNOUNCEMENTS_PER_REFUSAL = 2


def broker_channel_name(platform_uuid: str) -> str:
    """The channel of a platform's interop broker."""
    return f"interop-broker-{platform_uuid}"


def intent_handler_id(intent_name: str) -> str:
    """The channel action (handler id) the broker dispatches an intent to."""
    return f"intent-handler-{intent_name}"


class ContextGroupInfo(WireModel):
    """A context group (user channel): ``id`` and its ``displayMetadata`` (``name``, ``color``)."""

    id: str
    display_metadata: dict[str, Any] | None = Field(default=None, alias="displayMetadata")


class Intent(WireModel):
    """An intent the broker delivers: ``name``, ``context`` and optional ``metadata``."""

    name: str
    context: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] | None = None

    @property
    def result_topic(self) -> str | None:
        """The FDC3 2.0 result topic (``intentResolutionResultId``) in the intent or context metadata."""
        for metadata in (self.metadata, self.context.get("metadata")):
            if isinstance(metadata, Mapping):
                topic = metadata.get("intentResolutionResultId")
                if isinstance(topic, str) and topic:
                    return topic
        return None


IntentHandler = Callable[[Intent], Awaitable[Any] | Any]
"""Called with each intent the broker routes to us; the return value (JSON) is the intent's result."""


@dataclass
class _IntentEntry:
    intent_name: str
    handler: IntentHandler
    contexts: tuple[str, ...] | None = None
    refusals: deque[RefusedDelivery] = field(default_factory=lambda: deque(maxlen=RECENT_REFUSALS))
    reannouncing: asyncio.Task[None] | None = None
    announcements_owed: int = 0

    def repeat_of(self, payload: str) -> RefusedDelivery | None:
        """While we re-announce, the refusal of a payload just refused: the broker's re-delivery of it."""
        if self.reannouncing is None or self.reannouncing.done():
            return None
        return next((r for r in reversed(self.refusals) if r.payload == payload), None)


class InteropClient:
    """A client of the interop broker of platform ``platform_uuid``.

    ``context_group`` joins that group as part of connecting (the connect payload ``currentContextGroup``).
    """

    def __init__(
        self,
        connection: RuntimeConnection,
        platform_uuid: str,
        *,
        context_group: str | None = None,
        connect_timeout: float = 30.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.connection = connection
        self.platform_uuid = platform_uuid
        self.connect_timeout = connect_timeout
        self.backoff = backoff or Backoff(initial=0.5, cap=10.0)
        self._channel = BrokerChannel(
            connection, broker_channel_name(platform_uuid), on_disconnection=self._broker_gone, ledger=self
        )
        self._current_group = context_group
        self._context_handlers: dict[str, ContextHandlerEntry] = {}
        self._intent_handlers: dict[str, _IntentEntry] = {}
        self._sessions: dict[str, SessionGroupState] = {}
        self._reestablishing: asyncio.Task[None] | None = None
        self._establishing = asyncio.Lock()
        self._closed = False

    @property
    def channel_name(self) -> str:
        """The broker's channel name."""
        return self._channel.channel_name

    @property
    def is_connected(self) -> bool:
        """Whether we hold a live connection to the broker."""
        return self._channel.is_connected

    @property
    def current_context_group(self) -> str | None:
        """The context group we are in (and rejoin after a reconnect), if any."""
        return self._current_group

    async def connect(self) -> RoutingInfo:
        """Connect to the broker, waiting up to ``connect_timeout`` seconds for the platform to create it.

        Raises ``ChannelNotFound`` when it never appeared.
        """
        payload = {"currentContextGroup": self._current_group} if self._current_group else {}
        routing = await self._channel.connect(payload, timeout=self.connect_timeout)
        self.connection.attach(self)
        return routing

    async def close(self) -> None:
        """Leave the broker and stop replaying registrations."""
        self._closed = True
        self.connection.detach(self)
        await self._stop_reestablishing()
        if self._channel.is_connected:
            with contextlib.suppress(OpenFinError):
                await self._channel.disconnect()

    async def dispatch(self, action: str, payload: Any = None) -> Any:
        """Dispatch ``action`` to the broker and return its answer (session context groups use it too)."""
        return await self._channel.dispatch(action, payload)

    def remove_action(self, handler_id: str) -> None:
        """Stop serving ``handler_id`` (a context or intent handler's action) on the broker's channel."""
        self._channel.actions.remove(handler_id)

    # ---------------------------------------------------------------------------- context groups

    async def get_context_groups(self) -> list[ContextGroupInfo]:
        """The broker's context groups, in its order."""
        groups = await self.dispatch("getContextGroups")
        return [ContextGroupInfo.model_validate(group) for group in groups or []]

    async def join_context_group(self, group_id: str) -> None:
        """Join context group ``group_id`` (the broker replays its current contexts to our handlers)."""
        await self.dispatch("joinContextGroup", {"contextGroupId": group_id})
        self._current_group = group_id

    async def leave_context_group(self) -> None:
        """Leave the context group we are in."""
        await self.dispatch("removeFromContextGroup", {})
        self._current_group = None

    async def get_all_clients_in_context_group(self, group_id: str) -> list[ClientIdentity]:
        """The clients in ``group_id``."""
        clients = await self.dispatch("getAllClientsInContextGroup", {"contextGroupId": group_id})
        return [ClientIdentity.model_validate(client) for client in clients or []]

    async def set_context(self, context: Mapping[str, Any]) -> None:
        """Broadcast ``context`` to our context group (raises ``ChannelActionError`` when in none)."""
        await self.dispatch("setContext", {"context": check_context(context)})

    async def get_current_context(self, context_type: str | None = None) -> dict[str, Any] | None:
        """The group's last context of ``context_type`` (or its last context of any type)."""
        context = await self.dispatch("getCurrentContext", {"contextType": context_type})
        return context if isinstance(context, dict) else None

    # --------------------------------------------------------------------------- context handlers

    async def add_context_handler(
        self, handler: ContextHandler, context_type: str | None = None
    ) -> HandlerRegistration:
        """Call ``handler`` with each context of ``context_type`` (any type when ``None``) set in our group.

        Follows the broker's handler ids: ``invokeContextHandler`` for the (single) untyped handler,
        ``invokeContextHandler-<type>-<random>`` for typed ones. A second untyped handler raises
        ``DuplicateActionError``, as node-adapter does.
        """
        if context_type is None:
            handler_id = UNTYPED_HANDLER_ID
            if handler_id in self._context_handlers:
                raise DuplicateActionError(handler_id)
        else:
            handler_id = f"{UNTYPED_HANDLER_ID}-{context_type}-{random_suffix()}"
        entry = ContextHandlerEntry(handler_id, context_type, handler)
        self.serve_context_handler(entry)
        self._context_handlers[handler_id] = entry
        try:
            await self._announce_context_handler(entry)
        except BaseException:
            del self._context_handlers[handler_id]
            self.remove_action(handler_id)
            raise

        async def remove() -> None:
            if self._context_handlers.pop(handler_id, None) is None:
                return
            self.remove_action(handler_id)
            if self._channel.is_connected:
                await self.dispatch("removeContextHandler", {"handlerId": handler_id})

        return HandlerRegistration(handler_id, remove)

    def serve_context_handler(self, entry: ContextHandlerEntry) -> None:
        """Serve ``entry``'s handler id on the broker's channel; each context delivered calls the handler."""

        async def deliver(context: Any, _caller: ClientIdentity) -> None:
            await entry.deliver(context)

        self._channel.actions.register(entry.handler_id, deliver)

    async def _announce_context_handler(self, entry: ContextHandlerEntry) -> None:
        payload: dict[str, Any] = {"handlerId": entry.handler_id}
        if entry.context_type is not None:
            payload["contextType"] = entry.context_type
        await self.dispatch("contextHandlerRegistered", payload)

    # ---------------------------------------------------------------------------- session groups

    async def join_session_context_group(self, group_id: str) -> SessionContextGroup:
        """Join (creating if needed) the session context group ``group_id``."""
        state = self._sessions.get(group_id)
        if state is None:
            await self._create_session(group_id)
            state = self._sessions.setdefault(group_id, SessionGroupState(group_id))
        return SessionContextGroup(self, state)

    async def _create_session(self, group_id: str) -> None:
        answer = await self.dispatch(
            "sessionContextGroup:createIfNeeded", {"sessionContextGroupId": group_id}
        )
        if isinstance(answer, dict) and answer.get("hasConflict"):
            log.warning("interop.session_group_conflict", group=group_id)

    # --------------------------------------------------------------------------- intent handlers

    async def register_intent_handler(
        self, intent_name: str, handler: IntentHandler, *, contexts: Iterable[str] | None = None
    ) -> HandlerRegistration:
        """Handle intent ``intent_name``: ``handler(intent)`` returns the intent's result.

        ``contexts``, the context types the handler takes, travel in the registration (``contexts``, beside
        ``handlerId``) for brokers that answer ``findIntent``/``findIntentsByContext`` by context, as the
        built-in one does; the stock broker ignores what it does not know. Raises ``DuplicateActionError``
        if the intent already has a handler here.
        """
        handler_id = intent_handler_id(intent_name)
        entry = _IntentEntry(intent_name, handler, tuple(contexts) if contexts is not None else None)

        async def deliver(intent: Intent, _caller: ClientIdentity) -> Any:
            return await self._run_intent(entry, intent)

        self._channel.actions.register(handler_id, deliver, payload=Intent)
        self._intent_handlers[handler_id] = entry
        try:
            await self._announce_intent_handler(handler_id)
        except BaseException:
            del self._intent_handlers[handler_id]
            self.remove_action(handler_id)
            raise

        async def remove() -> None:
            removed = self._intent_handlers.pop(handler_id, None)
            self.remove_action(handler_id)
            if removed is not None and removed.reannouncing is not None:
                removed.reannouncing.cancel()

        return HandlerRegistration(handler_id, remove)

    async def _announce_intent_handler(self, handler_id: str) -> None:
        payload: dict[str, Any] = {"handlerId": handler_id, "fdc3Version": "2.0"}
        entry = self._intent_handlers.get(handler_id)
        if entry is not None and entry.contexts is not None:
            payload["contexts"] = list(entry.contexts)
        await self.dispatch("intentHandlerRegistered", payload)

    async def _run_intent(self, entry: _IntentEntry, intent: Intent) -> Any:
        topic = intent.result_topic
        try:
            outcome = entry.handler(intent)
            result = await outcome if inspect.isawaitable(outcome) else outcome
        except Exception:
            if topic is not None:
                await self._publish_result(topic, {"error": True})
            raise
        if topic is not None:
            await self._publish_result(topic, result)
        return result

    def repeated_refusal(self, action: str, payload_key: str) -> RefusedDelivery | None:
        """While ``action``'s intent is being re-announced, the refusal of a delivery of the same payload."""
        entry = self._intent_handlers.get(action)
        return entry.repeat_of(payload_key) if entry is not None else None

    def delivery_refused(self, action: str, refusal: RefusedDelivery) -> None:
        """A delivery of ``action`` was refused and the refusal sent: re-announce it if it is an intent's."""
        entry = self._intent_handlers.get(action)
        if entry is None or self._closed:
            return
        entry.refusals.append(refusal)
        # Owed from now on, whatever was sent before: an announcement in flight may reach the broker before
        # this refusal did.
        entry.announcements_owed = ANNOUNCEMENTS_PER_REFUSAL
        if entry.reannouncing is None or entry.reannouncing.done():
            entry.reannouncing = self.connection.spawn(
                self._reannounce(action, entry), name=f"openfin-intent-reannounce-{entry.intent_name}"
            )

    async def _reannounce(self, handler_id: str, entry: _IntentEntry) -> None:
        while entry.announcements_owed > 0:
            if self._intent_handlers.get(handler_id) is not entry or not self._channel.is_connected:
                return
            entry.announcements_owed -= 1
            try:
                await self._announce_intent_handler(handler_id)
            except (OpenFinError, TimeoutError) as exc:
                # A broker that is gone gets every handler announced again when it comes back (_replay).
                log.warning("interop.intent_reannounce_failed", intent=entry.intent_name, error=str(exc))
                return
        log.info("interop.intent_reannounced", intent=entry.intent_name)

    async def _publish_result(self, topic: str, message: Any) -> None:
        try:
            await self.connection.request(
                "publish-message",
                {"topic": topic, "message": message, "sourceWindowName": self.connection.uuid},
            )
        except (RuntimeRequestError, RuntimeNotConnectedError, RequestTimeoutError) as exc:
            log.warning("interop.intent_result_not_published", topic=topic, error=str(exc))

    async def fire_intent(
        self, name: str, context: Mapping[str, Any], metadata: Mapping[str, Any] | None = None
    ) -> Any:
        """Raise intent ``name`` with ``context``; returns what the broker's intent routing returns."""
        payload: dict[str, Any] = {"name": name, "context": check_context(context)}
        if metadata is not None:
            payload["metadata"] = dict(metadata)
        return await self.dispatch("fireIntent", payload)

    # --------------------------------------------------------------------------------- replay

    async def _replay(self) -> None:
        for entry in list(self._context_handlers.values()):
            await self._announce_context_handler(entry)
        if self._current_group is not None:
            await self.dispatch("joinContextGroup", {"contextGroupId": self._current_group})
        for state in list(self._sessions.values()):
            await self._create_session(state.group_id)
            for entry in list(state.handlers.values()):
                await announce_session_handler(self, state.group_id, entry)
        for handler_id in list(self._intent_handlers):
            await self._announce_intent_handler(handler_id)

    async def _establish(self) -> None:
        # The runtime connection's restore and the rejoin after the broker left may both try at once: one
        # at a time, and the second finds the broker joined, rather than a second connection of ours.
        async with self._establishing:
            if self._channel.is_connected:
                return
            await self._channel.connect({}, timeout=self.connect_timeout)
            await self._replay()
            log.info("interop.reestablished", broker=self.channel_name)

    def connection_lost(self) -> None:
        """The runtime went away with the broker connection."""
        self._channel.drop()

    async def restore(self) -> None:
        """Reconnect to the broker and replay every registration; raises when that failed, so that the
        runtime connection tries again (and does not report itself connected until it is done)."""
        try:
            await self._establish()
        except (OpenFinError, TimeoutError) as exc:
            # Connected but not replayed: leave, so that the next attempt does not add a second connection.
            if self._channel.is_connected:
                with contextlib.suppress(OpenFinError, TimeoutError):
                    await self._channel.disconnect()
            self._channel.drop()
            log.info("interop.broker_not_back", broker=self.channel_name, error=str(exc))
            raise

    async def shutdown(self) -> None:
        """Leave the broker during a clean shutdown."""
        await self.close()

    def _broker_gone(self) -> None:
        if not self._closed:
            log.warning("interop.broker_gone", broker=self.channel_name)
            self._start_reestablishing()

    def _start_reestablishing(self) -> None:
        if self._reestablishing is None or self._reestablishing.done():
            self._reestablishing = self.connection.spawn(
                self._reestablish_loop(), name="openfin-interop-rejoin"
            )

    async def _stop_reestablishing(self) -> None:
        task, self._reestablishing = self._reestablishing, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _reestablish_loop(self) -> None:
        for delay in self.backoff.delays():
            if self._closed or self._channel.is_connected:
                return
            try:
                await self._establish()
                return
            except (OpenFinError, TimeoutError) as exc:
                self._channel.drop()
                log.info("interop.rejoin_failed", broker=self.channel_name, error=str(exc))
            await asyncio.sleep(delay)
