"""Every error a user of ``adapter.openfin`` can meet, in one hierarchy.

Two families:

* Errors raised *to* our code by the runtime client (``OpenFinError`` and below): the socket is gone, a
  request timed out, the runtime refused a request or the handshake, a channel provider rejected us.
* Errors our channel handlers raise *to the remote caller* (``ActionError`` and below). The provider turns
  them into a failed channel result: ``reason`` plus ``error {name, message, stack, ...fields}``. Any other
  exception a handler raises is reported the same way, with its class name; an exception that is not an
  ``ActionError`` can still add fields to ``error`` by offering an ``error_payload()`` method returning a
  mapping (``DescribedError``, a protocol, so that packages without OpenFin knowledge can describe their
  errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class DescribedError(Protocol):
    """An exception with an ``error_payload()`` method: its fields join the ``error`` a remote caller gets.

    A protocol rather than a base class, so that packages without OpenFin knowledge can describe their errors.
    """

    def error_payload(self) -> Mapping[str, Any]:
        """Extra fields for the ``error`` object (``name`` and ``message`` are added by the provider)."""


class OpenFinError(Exception):
    """Base class of every error raised by the runtime client."""


class ProtocolError(OpenFinError):
    """The runtime sent a frame we cannot understand (not JSON, not an object, a malformed envelope)."""


class RuntimeNotConnectedError(OpenFinError):
    """There is no authorized socket to the runtime (not connected yet, reconnecting, or closed)."""


class ConnectionLostError(RuntimeNotConnectedError):
    """The socket closed while a request was waiting for its answer.

    The message is node-adapter's wording, ``Remote connection has closed``.
    """

    def __init__(self, message: str = "Remote connection has closed") -> None:
        super().__init__(message)


class AuthorizationRejected(OpenFinError):
    """The runtime refused the handshake (duplicate uuid, bad token or token file)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RequestTimeoutError(OpenFinError, TimeoutError):
    """The runtime did not answer a request within its timeout (a runtime may never answer)."""

    def __init__(self, action: str, timeout: float) -> None:
        super().__init__(f"No answer to {action!r} within {timeout:g} s")
        self.action = action
        self.timeout = timeout


class FrameTooLargeError(OpenFinError, ValueError):
    """A frame we were about to send is larger than the largest frame we send (``max_frame_bytes``)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"The message ({size} bytes) is larger than the largest frame sent ({limit} bytes)")
        self.size = size
        self.limit = limit


class RuntimeRequestError(OpenFinError):
    """The runtime (or the channel peer it relayed for) answered a request with ``success: false``.

    ``reason`` is the failure text; ``error`` the structured error when one was relayed
    (``{name, message, stack, ...}``), else ``None``.
    """

    def __init__(self, action: str, reason: str, error: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.action = action
        self.reason = reason
        self.error: dict[str, Any] | None = dict(error) if error is not None else None

    @property
    def error_name(self) -> str | None:
        """The relayed error's ``name`` (for example ``TypeError``), when the peer sent one."""
        name = (self.error or {}).get("name")
        return name if isinstance(name, str) else None


class ChannelActionError(RuntimeRequestError):
    """A channel peer's handler failed (or had no handler) for an action we dispatched."""


class ChannelNotFound(OpenFinError):
    """No provider created the channel before we stopped waiting for it."""

    def __init__(self, channel_name: str) -> None:
        super().__init__(f"No channel found for channelName: {channel_name}.")
        self.channel_name = channel_name


class ChannelConnectionRejected(OpenFinError):
    """A channel connection was refused.

    Raise it from a provider's ``on_connection`` hook to refuse a client with ``reason``; the client sees
    exactly that reason. ``ChannelClient.connect`` raises it when a provider refused us.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChannelClosedError(OpenFinError):
    """The channel (as provider or client) is not open: never created, destroyed, or lost with the runtime."""


class DuplicateActionError(OpenFinError, ValueError):
    """An action (or handler id) was registered twice on the same channel endpoint."""

    def __init__(self, action: str) -> None:
        super().__init__(f"Action {action!r} is already registered")
        self.action = action


class ActionError(Exception):
    """An error a channel handler raises to fail the caller's request with a named, structured error.

    ``name`` defaults to the class name; ``fields`` (for example ``status``, ``detail``) are added to the
    ``error`` object the caller receives. The ``reason`` is ``"<name>: <message>"`` so that a runtime that
    relays only ``reason`` still carries the error's name.
    """

    def __init__(self, message: str, *, name: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.name = name or type(self).__name__
        self.fields = fields

    @property
    def reason(self) -> str:
        """The failure text sent as ``reason``."""
        return f"{self.name}: {self.message}"

    def error_payload(self) -> dict[str, Any]:
        """Extra fields for the ``error`` object (``name`` and ``message`` are added by the provider)."""
        return dict(self.fields)


class ReplyTooLargeError(ActionError):
    """A reply that cannot go out as one frame (larger than the frame bound, or nested too deeply)."""

    def __init__(self, problem: str, hint: str = "ask for less") -> None:
        super().__init__(f"{problem}; {hint}")


class ActionNotFound(ActionError):
    """No handler is registered for the dispatched action; worded as the runtime's default action."""

    def __init__(self, action: str) -> None:
        super().__init__(f"No action registered at target for {action}", name="Error")
        self.action = action

    @property
    def reason(self) -> str:
        """Exactly node-adapter's wording, so callers matching on it keep working."""
        return self.message


class PayloadError(ActionError):
    """A dispatched payload failed validation against the action's payload model; the handler did not run.

    Its wire ``name`` is ``ParameterError``, the name node-adapter apps have always been sent for it.
    """

    WIRE_NAME = "ParameterError"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message, name=self.WIRE_NAME, **fields)


class ClientNotConnectedError(ActionError):
    """An action arrived from a client that is not connected to this provider (node-adapter's wording)."""

    def __init__(self, uuid: str, name: str, endpoint_id: str | None) -> None:
        super().__init__(
            "This action was sent from a client that is not connected to the provider. "
            f"Client Identity: {{uuid: {uuid}, name: {name}, endpointId: {endpoint_id}}}",
            name="Error",
        )

    @property
    def reason(self) -> str:
        """node-adapter's wording without a name prefix."""
        return self.message


class InvalidContextError(OpenFinError, ValueError):
    """A context to broadcast is not an object with a non-empty string ``type``."""
