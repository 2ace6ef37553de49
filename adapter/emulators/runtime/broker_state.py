"""Pure state of the built-in interop broker: who is in which context group, the contexts, the handlers.

No sockets and no event loop here. `BrokerState.handle` takes one channel action from one client and
returns an `Outcome`: the result to reply with, the context dispatches to make (``<handlerId>`` with the
bare context as payload, as the stock OpenFin ``InteropBroker`` sends them) and, for ``fireIntent``, the
`IntentRoute` the I/O layer must dispatch and await. Failures raise `BrokerError` whose message is what the
client's ``dispatch`` rejects with; the wording follows the stock broker's, so node-adapter users see the
same text from either broker.

Why one module: every broker action reads and writes the same few tables (clients, context groups and their
contexts, intent handlers, session groups): joining a group replays its context to the client's handlers,
leaving drops the client's handlers and intents, a raise picks among the handlers. Split by action, each part
would reach into the others' tables; together it stays one pure class with one entry point (``handle``),
tested as a whole in tests/unit/interop_broker/test_broker_state.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]

NO_APPS_FOUND = "NoAppsFound"
"""FDC3 ``ResolveError.NoAppsFound``: no connected client handles the raised intent."""

TARGET_APP_UNAVAILABLE = "TargetAppUnavailable"
"""FDC3 ``ResolveError.TargetAppUnavailable``: the app named in the intent's target handles no such intent."""

INTENT_HANDLER_REJECTED = "IntentHandlerRejected"
"""FDC3 ``ResultError.IntentHandlerRejected``: the handler refused the intent (its reason is in ``error``)."""

INTENT_DELIVERY_FAILED = "IntentDeliveryFailed"
"""FDC3 ``ResolveError.IntentDeliveryFailed``: the handler went away or never answered."""

MAX_DECLARED_CONTEXTS = 64
"""A registration's ``contexts`` beyond this many are refused: the list is kept per handler."""

DEFAULT_FDC3_VERSION = "2.0"

SESSION_PREFIX = "sessionContextGroup:"


def _override_error(client_api: str, broker_api: str) -> str:
    return (
        f"You have tried to to use {client_api} but {broker_api} has not been overridden in the "
        "Interop Broker. Please override this function. Refer to our documentation for more info."
    )


UNSUPPORTED_ACTIONS: dict[str, str] = {
    "fireIntentForContext": _override_error("fireIntentForContext", "handleFiredIntentForContext"),
    "fdc3Open": _override_error("fdc3.open", "fdc3HandleOpen"),
    "fdc3FindInstances": _override_error("fdc3.findInstances", "fdc3HandleFindInstances"),
    "fdc3GetAppMetadata": _override_error("fdc3.getAppMetadata", "fdc3HandleGetAppMetadata"),
    "createPrivateChannelProvider": "Private channels are not supported by the built-in interop broker.",
}
"""Actions the built-in broker answers with the stock broker's "not overridden" error.

FDC3 clients map these exact messages to ``ResolverUnavailable``, which is the truth: there is no resolver
or app directory behind the built-in broker.
"""


class BrokerError(Exception):
    """A broker action failed; the message is the ``reason`` the calling client receives."""


@dataclass(frozen=True)
class ContextGroupRecord:
    """A user channel (context group) with its display metadata, as ``getContextGroups`` lists it."""

    id: str
    color: str
    name: str

    def to_wire(self) -> JsonObject:
        """The ``ContextGroupInfo`` object a node-adapter client receives."""
        return {"id": self.id, "displayMetadata": {"color": self.color, "name": self.name}}


DEFAULT_CONTEXT_GROUPS: tuple[ContextGroupRecord, ...] = (
    ContextGroupRecord("green", "#00CC88", "green"),
    ContextGroupRecord("purple", "#8C61FF", "purple"),
    ContextGroupRecord("orange", "#FF8C4C", "orange"),
    ContextGroupRecord("red", "#FF5E60", "red"),
    ContextGroupRecord("pink", "#FF8FB8", "pink"),
    ContextGroupRecord("yellow", "#E9FF8F", "yellow"),
)
"""The stock OpenFin broker's context groups, in its order."""


@dataclass(frozen=True)
class Dispatch:
    """A broker -> client channel dispatch of ``action`` with ``payload`` to the client ``target``."""

    target: JsonObject
    action: str
    payload: Any


@dataclass(frozen=True)
class IntentRoute:
    """Where a fired intent goes: ``intent-handler-<name>`` with the intent, unchanged, to ``target``."""

    target: JsonObject
    handler_id: str
    intent: JsonObject
    version: str

    @property
    def intent_name(self) -> str:
        """The raised intent's name."""
        return str(self.intent["name"])

    def resolution(self, result: Any, *, has_result: bool) -> JsonObject:
        """The ``{source, intent, version, result}`` the raiser receives once the handler has answered.

        ``has_result`` is false when the handler returned nothing; then ``result`` is left out, as a
        JavaScript broker returning ``undefined`` would leave it out of the JSON.
        """
        answer: JsonObject = {
            "source": {"appId": self.target.get("uuid"), "instanceId": self.target.get("endpointId")},
            "intent": self.intent_name,
            "version": self.version,
        }
        if has_result:
            answer["result"] = result
        return answer


@dataclass
class Outcome:
    """What the I/O layer does for one action: send ``dispatches``, then reply ``result`` or route ``intent``.

    With ``await_dispatches`` the reply waits until every dispatch has been answered, as the stock broker's
    session context groups do on ``handlerAdded``.
    """

    result: Any = None
    dispatches: list[Dispatch] = field(default_factory=list)
    intent: IntentRoute | None = None
    await_dispatches: bool = False


@dataclass(frozen=True)
class _ContextHandler:
    handler_id: str
    context_type: str | None

    def accepts(self, context_type: str) -> bool:
        return self.context_type is None or self.context_type == context_type


@dataclass
class _Client:
    identity: JsonObject
    context_group_id: str | None = None
    handlers: dict[str, _ContextHandler] = field(default_factory=dict)


@dataclass
class _IntentHandler:
    identity: JsonObject
    handler_id: str
    fdc3_version: str
    order: int
    contexts: frozenset[str] | None = None
    """The context types it declared at registration; ``None``: it declared none, so it takes any."""

    def accepts(self, context: Any) -> bool:
        """Whether it takes ``context`` (no context, or one without a type, is taken by every handler)."""
        context_type = context.get("type") if isinstance(context, dict) else None
        return self.contexts is None or not isinstance(context_type, str) or context_type in self.contexts


def _declared_contexts(value: Any) -> frozenset[str] | None:
    """The ``contexts`` a handler declared at registration, or ``None`` when it declared none."""
    if not isinstance(value, list) or not value:
        return None
    if len(value) > MAX_DECLARED_CONTEXTS or not all(isinstance(v, str) and v for v in value):
        raise BrokerError(
            f"Failed to register intent handler: contexts must be at most {MAX_DECLARED_CONTEXTS} "
            "non-empty context types."
        )
    return frozenset(value)


@dataclass
class _SessionClient:
    identity: JsonObject
    typed_handlers: dict[str, list[str]] = field(default_factory=dict)
    global_handler: str | None = None


@dataclass
class _SessionContextGroup:
    contexts: dict[str, JsonObject] = field(default_factory=dict)
    last_context: JsonObject | None = None
    clients: dict[str, _SessionClient] = field(default_factory=dict)


def _who(identity: JsonObject) -> str:
    return f"{identity.get('uuid')} {identity.get('name')}"


def _js_stringify(value: Any) -> str:
    return "undefined" if value is None else json.dumps(value, separators=(",", ":"))


def _check_context(context: Any) -> JsonObject:
    """The stock ``checkContextIntegrity``: a context must be an object with a ``type``."""
    reason: str | None = None
    if not context:
        reason = "No context supplied"
    elif not isinstance(context, dict):
        reason = "Context must be an Object"
    elif not context.get("type"):
        reason = "Context must have a type property"
    if reason is not None:
        raise BrokerError(
            f"Failed to set Context - bad Context. Reason: {reason}. Context: {_js_stringify(context)}"
        )
    assert isinstance(context, dict)
    return context


def _fields(payload: Any) -> JsonObject:
    """A dispatch payload as an object; clients send no payload at all for some actions."""
    return payload if isinstance(payload, dict) else {}


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _app_intent(name: str, handlers: list[_IntentHandler]) -> JsonObject:
    """The FDC3 AppIntent of ``name``: the intent and the handling clients as ``{appId, instanceId}``."""
    apps = [{"appId": h.identity.get("uuid"), "instanceId": h.identity.get("endpointId")} for h in handlers]
    return {"intent": {"name": name, "displayName": name}, "apps": apps}


class BrokerState:
    """Interop broker state for one platform, keyed by each client's channel ``endpointId``."""

    def __init__(
        self,
        context_groups: Iterable[ContextGroupRecord] = DEFAULT_CONTEXT_GROUPS,
        *,
        provider_version: str = "",
    ) -> None:
        self._groups = list(context_groups)
        self._group_contexts: dict[str, dict[str, JsonObject]] = {g.id: {} for g in self._groups}
        self._last_type: dict[str, str] = {}
        self._clients: dict[str, _Client] = {}
        self._intent_handlers: dict[str, list[_IntentHandler]] = {}
        self._intent_order = 0
        self._sessions: dict[str, _SessionContextGroup] = {}
        self.provider_version = provider_version
        """The runtime version ``fdc3v2GetInfo`` reports as ``providerVersion``."""
        self._actions: dict[str, Callable[[Any, JsonObject], Outcome]] = {
            "setContext": self._set_context,
            "getCurrentContext": self._get_current_context,
            "fireIntent": self._fire_intent,
            "getInfoForIntent": self._get_info_for_intent,
            "getInfoForIntentsByContext": self._find_intents_by_context,
            "fdc3v2FindIntentsByContext": self._find_intents_by_context,
            "getContextGroups": lambda _p, _s: Outcome(self.context_groups()),
            "joinContextGroup": self._join_context_group,
            "removeFromContextGroup": self._remove_from_context_group,
            "getAllClientsInContextGroup": self._get_all_clients_in_context_group,
            "getInfoForContextGroup": self._get_info_for_context_group,
            "contextHandlerRegistered": self._context_handler_registered,
            "intentHandlerRegistered": self._intent_handler_registered,
            "removeContextHandler": self._remove_context_handler,
            "sessionContextGroup:createIfNeeded": self._session_create_if_needed,
            "fdc3v2GetInfo": self._fdc3_get_info,
            "isIdUsedByPrivateChannel": lambda _p, _s: Outcome(False),
        }

    # connections

    def connect(self, identity: JsonObject, payload: Any) -> None:
        """Admit a client at channel connection; ``{currentContextGroup}`` puts it into that group at once."""
        endpoint_id = identity.get("endpointId")
        if not endpoint_id:
            raise BrokerError(
                "Version too old to be compatible with Interop. "
                "Please upgrade your runtime to a more recent version."
            )
        wanted = _fields(payload).get("currentContextGroup")
        group_id = wanted if isinstance(wanted, str) and wanted in self._group_contexts else None
        self._clients[str(endpoint_id)] = _Client(identity=dict(identity), context_group_id=group_id)

    def disconnect(self, identity: JsonObject) -> None:
        """Forget everything about a client whose channel connection ended."""
        endpoint_id = str(identity.get("endpointId"))
        self._clients.pop(endpoint_id, None)
        for name, handlers in list(self._intent_handlers.items()):
            kept = [h for h in handlers if h.identity.get("endpointId") != endpoint_id]
            if kept:
                self._intent_handlers[name] = kept
            else:
                del self._intent_handlers[name]
        for session in self._sessions.values():
            session.clients.pop(endpoint_id, None)

    def clients(self) -> list[JsonObject]:
        """Identities of every connected client, in connection order."""
        return [c.identity for c in self._clients.values()]

    # dispatch table

    def handle(self, action: str, payload: Any, sender: JsonObject) -> Outcome:
        """Run one channel action sent by ``sender`` (its clientIdentity)."""
        handler = self._actions.get(action)
        if handler is not None:
            return handler(payload, sender)
        if action in UNSUPPORTED_ACTIONS:
            raise BrokerError(UNSUPPORTED_ACTIONS[action])
        session_outcome = self._session_action(action, payload, sender)
        if session_outcome is not None:
            return session_outcome
        raise BrokerError(f"No action registered at target for {action}")

    # context groups

    def context_groups(self) -> list[JsonObject]:
        """The ``getContextGroups`` answer: every context group with its display metadata."""
        return [g.to_wire() for g in self._groups]

    def _client(self, identity: JsonObject) -> _Client | None:
        return self._clients.get(str(identity.get("endpointId")))

    def _set_context(self, payload: Any, sender: JsonObject) -> Outcome:
        client = self._client(sender)
        if client is None:
            raise BrokerError(f"Client with Identity: {_who(sender)} not in Client State Map")
        if client.context_group_id is None:
            raise BrokerError("You must join a context group before you can set context.")
        return Outcome(
            dispatches=self.set_context_for_group(_fields(payload).get("context"), client.context_group_id)
        )

    def set_context_for_group(self, context: Any, group_id: str) -> list[Dispatch]:
        """Store ``context`` as the group's current context of its type; deliver it to every matching handler.

        Every client in the group gets it, the setter included, as the stock broker does.
        """
        contexts = self._group_contexts.get(group_id)
        if contexts is None:
            raise BrokerError(
                "Unable to set context for context group that isn't in the context group mapping: "
                f"{group_id}."
            )
        checked = _check_context(context)
        context_type = str(checked["type"])
        contexts[context_type] = checked
        self._last_type[group_id] = context_type
        return [
            Dispatch(client.identity, handler.handler_id, checked)
            for client in self._clients.values()
            if client.context_group_id == group_id
            for handler in client.handlers.values()
            if handler.accepts(context_type)
        ]

    def _get_current_context(self, payload: Any, sender: JsonObject) -> Outcome:
        client = self._client(sender)
        if client is None or client.context_group_id is None:
            raise BrokerError("You must be a member of a context group to call getCurrentContext")
        group_id = client.context_group_id
        context_type = _optional_str(_fields(payload).get("contextType")) or self._last_type.get(group_id)
        if context_type is None:
            return Outcome(None)
        return Outcome(self._group_contexts[group_id].get(context_type))

    def _join_context_group(self, payload: Any, sender: JsonObject) -> Outcome:
        fields = _fields(payload)
        group_id = fields.get("contextGroupId")
        if isinstance(group_id, str) and group_id in self._sessions:
            raise BrokerError(
                "The Context Group you have tried to join is a Session Context Group. Custom Context Groups "
                "can only be defined by the Interop Broker through code or manifest configuration. "
                "Please use joinSessionContextGroup."
            )
        target = fields.get("target")
        if not isinstance(target, dict):
            return Outcome(dispatches=self._add_to_group(group_id, sender))
        dispatches: list[Dispatch] = []
        if target.get("endpointId") is not None:
            dispatches += self._add_to_group(group_id, target)
        matching = self._connections_of(target)
        if not matching:
            raise BrokerError(f"Error: Given Identity {_who(target)} is not connected to the Interop Broker.")
        for identity in matching:
            dispatches += self._add_to_group(group_id, identity)
        return Outcome(dispatches=dispatches)

    def _connections_of(self, target: JsonObject) -> list[JsonObject]:
        return [
            c.identity
            for c in self._clients.values()
            if c.identity.get("uuid") == target.get("uuid") and c.identity.get("name") == target.get("name")
        ]

    def _add_to_group(self, group_id: Any, identity: JsonObject) -> list[Dispatch]:
        client = self._client(identity)
        if client is None:
            raise BrokerError(f"Client with Identity: {_who(identity)} not in Client State Map")
        if not isinstance(group_id, str) or group_id not in self._group_contexts:
            raise BrokerError(
                f"Attempting to join a context group that does not exist: {group_id}. "
                "You may only join existing context groups."
            )
        if client.context_group_id == group_id:
            return []
        client.context_group_id = group_id
        dispatches: list[Dispatch] = []
        for handler in client.handlers.values():
            dispatches += self._replay(client, handler)
        return dispatches

    def _replay(self, client: _Client, handler: _ContextHandler) -> list[Dispatch]:
        """The group's current contexts a newly joined or newly registered handler receives at once."""
        if client.context_group_id is None:
            return []
        contexts = self._group_contexts[client.context_group_id]
        if handler.context_type is None:
            return [Dispatch(client.identity, handler.handler_id, c) for c in contexts.values()]
        current = contexts.get(handler.context_type)
        return [] if current is None else [Dispatch(client.identity, handler.handler_id, current)]

    def _remove_from_context_group(self, payload: Any, sender: JsonObject) -> Outcome:
        target = _fields(payload).get("target")
        if not isinstance(target, dict):
            self._leave_group(sender)
            return Outcome()
        if target.get("endpointId") is not None:
            self._leave_group(target)
        matching = self._connections_of(target)
        if not matching:
            raise BrokerError(f"Error: No connection found for given Identity {_who(target)}")
        for identity in matching:
            self._leave_group(identity)
        return Outcome()

    def _leave_group(self, identity: JsonObject) -> None:
        client = self._client(identity)
        if client is not None:
            client.context_group_id = None

    def _get_all_clients_in_context_group(self, payload: Any, _sender: JsonObject) -> Outcome:
        group_id = _fields(payload).get("contextGroupId")
        return Outcome([c.identity for c in self._clients.values() if c.context_group_id == group_id])

    def _get_info_for_context_group(self, payload: Any, _sender: JsonObject) -> Outcome:
        group_id = _fields(payload).get("contextGroupId")
        return Outcome(next((g.to_wire() for g in self._groups if g.id == group_id), None))

    # context handlers

    def _context_handler_registered(self, payload: Any, sender: JsonObject) -> Outcome:
        fields = _fields(payload)
        handler_id = fields.get("handlerId")
        client = self._client(sender)
        if client is None or not isinstance(handler_id, str):
            return Outcome()
        handler = _ContextHandler(handler_id, _optional_str(fields.get("contextType")))
        client.handlers[handler_id] = handler
        return Outcome(dispatches=self._replay(client, handler))

    def _remove_context_handler(self, payload: Any, sender: JsonObject) -> Outcome:
        client = self._client(sender)
        if client is not None:
            client.handlers.pop(str(_fields(payload).get("handlerId")), None)
        return Outcome()

    # intents

    def _intent_handler_registered(self, payload: Any, sender: JsonObject) -> Outcome:
        fields = _fields(payload)
        handler_id = fields.get("handlerId")
        prefix = "intent-handler-"
        if (
            self._client(sender) is None
            or not isinstance(handler_id, str)
            or not handler_id.startswith(prefix)
        ):
            return Outcome()
        name = handler_id[len(prefix) :]
        version = _optional_str(fields.get("fdc3Version")) or DEFAULT_FDC3_VERSION
        contexts = _declared_contexts(fields.get("contexts"))
        endpoint_id = sender.get("endpointId")
        handlers = [
            h for h in self._intent_handlers.get(name, []) if h.identity.get("endpointId") != endpoint_id
        ]
        self._intent_order += 1
        handlers.append(_IntentHandler(dict(sender), handler_id, version, self._intent_order, contexts))
        self._intent_handlers[name] = handlers
        return Outcome()

    def _fire_intent(self, payload: Any, _sender: JsonObject) -> Outcome:
        intent = _fields(payload)
        name = intent.get("name")
        if not isinstance(name, str) or not name:
            raise BrokerError("Failed to fire intent - an intent needs a name.")
        handlers = [h for h in self._intent_handlers.get(name, []) if h.accepts(intent.get("context"))]
        if not handlers:
            raise BrokerError(NO_APPS_FOUND)
        wanted_app = self._target_app(intent.get("metadata"))
        if wanted_app is not None:
            handlers = [h for h in handlers if h.identity.get("uuid") == wanted_app]
            if not handlers:
                raise BrokerError(TARGET_APP_UNAVAILABLE)
        chosen = max(handlers, key=lambda h: h.order)
        return Outcome(intent=IntentRoute(chosen.identity, chosen.handler_id, intent, chosen.fdc3_version))

    @staticmethod
    def _target_app(metadata: Any) -> str | None:
        """The app id named by FDC3 ``raiseIntent(intent, context, app)``, if any."""
        target = _fields(metadata).get("target")
        if isinstance(target, str) and target:
            return target
        if isinstance(target, dict):
            return _optional_str(target.get("appId")) or _optional_str(target.get("name"))
        return None

    def _get_info_for_intent(self, payload: Any, _sender: JsonObject) -> Outcome:
        fields = _fields(payload)
        name = fields.get("name")
        handlers = self._intent_handlers.get(name, []) if isinstance(name, str) else []
        handlers = [h for h in handlers if h.accepts(fields.get("context"))]
        if not handlers:
            raise BrokerError(NO_APPS_FOUND)
        return Outcome(_app_intent(str(name), handlers))

    def _find_intents_by_context(self, payload: Any, _sender: JsonObject) -> Outcome:
        """FDC3 ``findIntentsByContext``: an AppIntent for every intent with a handler taking the context.

        The payload is the context itself, or ``{context, metadata}`` when the FDC3 2.0 caller gave a
        result type (which is not filtered on: handlers declare no result types).
        """
        fields = _fields(payload)
        context = fields if isinstance(fields.get("type"), str) else _fields(fields.get("context"))
        if not isinstance(context.get("type"), str) or not context["type"]:
            raise BrokerError("MalformedContext")
        found = []
        for name in sorted(self._intent_handlers):
            handlers = [h for h in self._intent_handlers[name] if h.accepts(context)]
            if handlers:
                found.append(_app_intent(name, handlers))
        if not found:
            raise BrokerError(NO_APPS_FOUND)
        return Outcome(found)

    def _fdc3_get_info(self, payload: Any, _sender: JsonObject) -> Outcome:
        return Outcome(
            {
                "fdc3Version": _fields(payload).get("fdc3Version"),
                "providerVersion": self.provider_version,
                "provider": "OpenFin",
                "optionalFeatures": {"OriginatingAppMetadata": False, "UserChannelMembershipAPIs": True},
                "appMetadata": {"appId": "", "instanceId": ""},
            }
        )

    # session context groups

    def _session_create_if_needed(self, payload: Any, sender: JsonObject) -> Outcome:
        group_id = _fields(payload).get("sessionContextGroupId")
        if not isinstance(group_id, str) or not group_id:
            raise BrokerError("Error: Failed to join session context group: must specify group id.")
        session = self._sessions.setdefault(group_id, _SessionContextGroup())
        endpoint_id = str(sender.get("endpointId"))
        if endpoint_id not in session.clients:
            session.clients[endpoint_id] = _SessionClient(identity=dict(sender))
        return Outcome({"hasConflict": group_id in self._group_contexts})

    def _session_action(self, action: str, payload: Any, sender: JsonObject) -> Outcome | None:
        """Run ``sessionContextGroup:<verb>-<id>``; None when no such session group action exists yet."""
        if not action.startswith(SESSION_PREFIX):
            return None
        verb, _, group_id = action[len(SESSION_PREFIX) :].partition("-")
        session = self._sessions.get(group_id)
        if session is None:
            return None
        fields = _fields(payload)
        client = session.clients.get(str(sender.get("endpointId")))
        if verb == "getContext":
            wanted = _optional_str(fields.get("type"))
            return Outcome(session.contexts.get(wanted) if wanted else session.last_context)
        if verb == "setContext":
            if client is None:
                raise BrokerError(f"Client with Identity: {_who(sender)} not in Session Client State Map")
            return Outcome(dispatches=self._session_set_context(session, fields.get("context")))
        if verb == "handlerAdded":
            if client is None:
                raise BrokerError(f"Client with Identity: {_who(sender)} not in Client State Map")
            return Outcome(
                dispatches=self._session_handler_added(session, client, fields), await_dispatches=True
            )
        if verb == "handlerRemoved":
            if client is not None:
                self._session_handler_removed(client, fields.get("handlerId"))
            return Outcome()
        return None

    @staticmethod
    def _session_set_context(session: _SessionContextGroup, context: Any) -> list[Dispatch]:
        checked = _check_context(context)
        context_type = str(checked["type"])
        session.contexts[context_type] = checked
        session.last_context = checked
        dispatches: list[Dispatch] = []
        for client in session.clients.values():
            dispatches += [
                Dispatch(client.identity, h, checked) for h in client.typed_handlers.get(context_type, [])
            ]
            if client.global_handler is not None:
                dispatches.append(Dispatch(client.identity, client.global_handler, checked))
        return dispatches

    @staticmethod
    def _session_handler_added(
        session: _SessionContextGroup, client: _SessionClient, fields: JsonObject
    ) -> list[Dispatch]:
        handler_id = fields.get("handlerId")
        if not isinstance(handler_id, str):
            raise BrokerError("Failed to add context handler: handlerId is missing.")
        context_type = _optional_str(fields.get("contextType"))
        if context_type is not None:
            client.typed_handlers.setdefault(context_type, []).append(handler_id)
            current = session.contexts.get(context_type)
            return [] if current is None else [Dispatch(client.identity, handler_id, current)]
        client.global_handler = handler_id
        return [Dispatch(client.identity, handler_id, c) for c in session.contexts.values()]

    @staticmethod
    def _session_handler_removed(client: _SessionClient, handler_id: Any) -> None:
        for handlers in client.typed_handlers.values():
            if handler_id in handlers:
                handlers.remove(handler_id)
        if client.global_handler == handler_id:
            client.global_handler = None
