"""Channel actions registered by name, with optional payload models, and the replies they produce.

``ActionRegistry`` is what a channel endpoint (our provider, or our client of someone else's channel) runs
when a ``process-channel-message`` arrives: it finds the handler by action name (a second registration of a
name is refused), validates the payload against the action's pydantic model (on failure the handler never
runs and the caller gets a ``PayloadError``), calls the handler with the payload and the caller's identity,
and turns the outcome into the raw ``ackToSender`` reply. Pure apart from awaiting the handler.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from adapter.openfin.errors import (
    ActionError,
    ActionNotFound,
    DescribedError,
    DuplicateActionError,
    PayloadError,
)
from adapter.openfin.frames import (
    AckToSender,
    ClientIdentity,
    encode,
    failure_reply,
    success_reply,
    success_reply_text,
)

log = structlog.get_logger(__name__)

ActionHandler = Callable[[Any, ClientIdentity], Awaitable[Any] | Any]
"""A channel action handler: ``handler(payload, caller) -> result`` (sync or async).

``payload`` is the validated model instance when the action has a payload model, else the raw JSON value.
The result must be JSON-serialisable (a pydantic model is dumped with wire aliases).
"""


@dataclass(frozen=True)
class RegisteredAction:
    """One action: its name, handler and optional payload model."""

    name: str
    handler: ActionHandler
    payload_model: type[BaseModel] | None = None
    awaited: bool = True
    """Whether the handler is a coroutine function: its reply needs a task; a plain function's does not."""


class ActionRegistry:
    """Actions of one channel endpoint, by name."""

    def __init__(self) -> None:
        self._actions: dict[str, RegisteredAction] = {}

    def register(self, name: str, handler: ActionHandler, *, payload: type[BaseModel] | None = None) -> None:
        """Register ``handler`` for ``name``; raises ``DuplicateActionError`` if the name is taken."""
        if name in self._actions:
            raise DuplicateActionError(name)
        self._actions[name] = RegisteredAction(name, handler, payload, inspect.iscoroutinefunction(handler))

    def action(
        self, name: str, *, payload: type[BaseModel] | None = None
    ) -> Callable[[ActionHandler], ActionHandler]:
        """Decorator form of ``register``: ``@registry.action("echo", payload=EchoPayload)``."""

        def decorate(handler: ActionHandler) -> ActionHandler:
            self.register(name, handler, payload=payload)
            return handler

        return decorate

    def remove(self, name: str) -> bool:
        """Unregister ``name``; ``False`` if it was not registered."""
        return self._actions.pop(name, None) is not None

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    @property
    def names(self) -> list[str]:
        """Registered action names, in registration order."""
        return list(self._actions)

    async def invoke(self, name: str, payload: Any, caller: ClientIdentity) -> Any:
        """Run the handler of ``name`` and return its JSON-ready result.

        Raises ``ActionNotFound`` for an unknown name, ``PayloadError`` for a payload the action's model
        refuses (the handler is not called), or whatever the handler raises.
        """
        return to_json_value(await self._run(name, payload, caller))

    async def _run(self, name: str, payload: Any, caller: ClientIdentity) -> Any:
        result = self._call(name, payload, caller)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _call(self, name: str, payload: Any, caller: ClientIdentity) -> Any:
        registered = self._actions.get(name)
        if registered is None:
            raise ActionNotFound(name)
        argument = payload
        if registered.payload_model is not None:
            argument = validate_payload(name, registered.payload_model, payload)
        return registered.handler(argument, caller)

    async def reply(
        self, ack: AckToSender, name: str, payload: Any, caller: ClientIdentity
    ) -> dict[str, Any]:
        """Invoke ``name`` and build the raw reply for ``ack``: the result, or the failure."""
        try:
            result = await self.invoke(name, payload, caller)
        except Exception as exc:
            return self._failed(ack, name, caller, exc)
        return success_reply(ack, result)

    async def reply_frame(
        self, ack: AckToSender, name: str, payload: Any, caller: ClientIdentity
    ) -> dict[str, Any] | str:
        """``reply`` ready to send: a success is the reply's JSON text with the result encoded once (a
        model straight to JSON, no dicts in between); a failure, or a result without a JSON form, is the
        reply's dict, which the connection encodes (and fails to, as before) when it sends it."""
        try:
            result = await self._run(name, payload, caller)
        except Exception as exc:
            return self._failed(ack, name, caller, exc)
        return _success_frame(ack, result)

    def reply_now(
        self, ack: AckToSender, name: str, payload: Any, caller: ClientIdentity
    ) -> dict[str, Any] | str | Coroutine[Any, Any, dict[str, Any] | str]:
        """``reply_frame`` without a task when it needs none: an action whose handler is a plain function
        (an unknown action too) runs now and its reply is returned; for a coroutine function, the
        ``reply_frame`` coroutine is returned for the caller to run (validation and handler run in it)."""
        registered = self._actions.get(name)
        if registered is not None and registered.awaited:
            return self.reply_frame(ack, name, payload, caller)
        try:
            result = self._call(name, payload, caller)
        except Exception as exc:
            return self._failed(ack, name, caller, exc)
        if inspect.isawaitable(result):
            return self._settle(ack, name, caller, result)
        return _success_frame(ack, result)

    async def _settle(
        self, ack: AckToSender, name: str, caller: ClientIdentity, pending: Awaitable[Any]
    ) -> dict[str, Any] | str:
        # A plain function that handed back an awaitable: its result is awaited as an async handler's is.
        try:
            result = await pending
        except Exception as exc:
            return self._failed(ack, name, caller, exc)
        return _success_frame(ack, result)

    @staticmethod
    def _failed(ack: AckToSender, name: str, caller: ClientIdentity, exc: Exception) -> dict[str, Any]:
        if not isinstance(exc, ActionError):
            log.warning("channel.action.failed", action=name, caller=caller.uuid, exc_info=exc)
        return error_reply(ack, exc)


def _success_frame(ack: AckToSender, result: Any) -> dict[str, Any] | str:
    # The reply's JSON text with the result encoded once; a result without a JSON form stays a dict, which
    # the connection fails to encode when it sends it.
    try:
        return success_reply_text(ack, to_json_text(result))
    except (TypeError, ValueError):
        return success_reply(ack, to_json_value(result))


def validate_payload(action: str, model: type[BaseModel], payload: Any) -> BaseModel:
    """``payload`` as an instance of ``model`` (no payload counts as ``{}``), or ``PayloadError``.

    The error lists each invalid field and why, never the values (they may be secrets).
    """
    try:
        return model.model_validate({} if payload is None else payload)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(part) for part in err["loc"]), "message": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{p['field'] or '<payload>'}: {p['message']}" for p in problems)
        raise PayloadError(f"Invalid payload for {action}: {summary}", problems=problems) from None


def to_json_value(value: Any) -> Any:
    """A handler result ready for JSON: pydantic models dumped with wire aliases, other values unchanged."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


def to_json_text(value: Any) -> str | None:
    """A handler result as JSON text (``to_json_value`` encoded), ``None`` for no result: a pydantic model
    is written straight from the model. ``TypeError``/``ValueError`` when it has no JSON form."""
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump_json(by_alias=True)
    return encode(value)


def describe_error(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """The ``reason`` and ``error`` object reporting ``exc`` to a remote caller.

    ``error`` is ``{name, message, stack, ...fields}``: ``stack`` is only ``"<name>: <message>"`` (no Python
    traceback crosses the bus) but its presence lets node-adapter rebuild the error as the ``cause`` of its
    ``ChannelError``, with ``name`` and the extra fields. Fields come from ``ActionError.fields`` or from an
    ``error_payload()`` method on any exception.
    """
    if isinstance(exc, ActionError):
        name, message, reason = exc.name, exc.message, exc.reason
    else:
        name, message = type(exc).__name__, str(exc)
        reason = f"{name}: {message}"
    fields: dict[str, Any] = {}
    if isinstance(exc, DescribedError):
        offered = exc.error_payload()
        if isinstance(offered, Mapping):
            fields.update(offered)
    error = {**fields, "name": name, "message": message, "stack": f"{name}: {message}"}
    return reason, error


def error_reply(ack: AckToSender, exc: BaseException) -> dict[str, Any]:
    """The raw failure reply to a channel push reporting ``exc``."""
    reason, error = describe_error(exc)
    return failure_reply(ack, reason, error)
