"""Where each frame the runtime sends goes: the pure core of ``RuntimeConnection``, no socket, no task.

``FrameRouter.route`` takes one frame as read from the socket. A reply goes to the ``Correlator``; a desktop
event to the listeners of ``DesktopEventListeners`` (called at once, in frame order); a channel push to the
endpoint that registered for it. What a push asks for that is I/O (running an endpoint's handler, sending a
refusal) comes back as a ``Routed`` value for the connection to carry out, so that every rule here can be
tested without a socket. The endpoint tables and the counters (``ConnectionStats``) live here too.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from adapter.openfin.correlator import Correlator
from adapter.openfin.desktop_events import DesktopEventListeners
from adapter.openfin.errors import ProtocolError
from adapter.openfin.frames import (
    AckFrame,
    ChannelConnectionPayload,
    ChannelMessagePayload,
    DesktopEvent,
    FrameRefused,
    channel_message_target,
    failure_reply,
    parse_inbound,
    parse_push,
)

log = structlog.get_logger(__name__)


@dataclass
class ConnectionStats:
    """Counters operators want: reconnects, requests and how they failed, frames, errors."""

    reconnects: int = 0
    requests: int = 0
    request_failures: int = 0
    request_timeouts: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    errors: int = 0
    """Frames we could not parse, pushes nobody handled cleanly, replays that failed."""
    restore_failures: int = 0
    """Attempts to re-create a subscription or component after a reconnect that failed (and were retried)."""


class ProviderEndpoint(Protocol):
    """Receives pushes for a channel we provide."""

    async def handle_connection(self, push: ChannelConnectionPayload) -> None:
        """A client asks to connect."""

    def serve_message(self, push: ChannelMessagePayload) -> Coroutine[Any, Any, None] | None:
        """A client dispatched an action to us: serve it now if that needs no waiting (``None``), else
        return what is left to run as a task."""


class ClientEndpoint(Protocol):
    """Receives pushes for a channel we are a client of."""

    async def handle_message(self, push: ChannelMessagePayload) -> None:
        """The provider dispatched an action to us."""


@dataclass(frozen=True, slots=True)
class ConnectionDelivery:
    """Run ``provider.handle_connection(push)`` as task ``task_name``."""

    provider: ProviderEndpoint
    push: ChannelConnectionPayload
    task_name: str


@dataclass(frozen=True, slots=True)
class MessageDelivery:
    """Run ``endpoint.handle_message(push)`` as task ``task_name`` (a channel we are a client of)."""

    endpoint: ClientEndpoint
    push: ChannelMessagePayload
    task_name: str


@dataclass(frozen=True, slots=True)
class ProviderMessage:
    """Have ``provider.serve_message(push)`` serve it, running what it returns as task ``task_name``."""

    provider: ProviderEndpoint
    push: ChannelMessagePayload

    @property
    def task_name(self) -> str:
        """The task's name, should one be needed (most messages are served without)."""
        return f"openfin-action-{self.push.action}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Send ``frame`` (a failure reply to a push nobody here can serve) as task ``task_name``."""

    frame: dict[str, Any]
    task_name: str


Routed = ConnectionDelivery | MessageDelivery | ProviderMessage | Refusal
"""The I/O a routed frame asks of the connection."""


class FrameRouter:
    """Routes the runtime's frames for the external connection ``uuid`` (updated if the runtime assigns
    another during the handshake)."""

    def __init__(
        self,
        uuid: str,
        correlator: Correlator,
        stats: ConnectionStats,
        *,
        max_frame_bytes: int | None = None,
        max_json_depth: int | None = None,
    ) -> None:
        self.uuid = uuid
        self.correlator = correlator
        self.stats = stats
        self.max_frame_bytes = max_frame_bytes
        self.max_json_depth = max_json_depth
        self.events = DesktopEventListeners()
        self._providers: dict[str, ProviderEndpoint] = {}
        self._creating: dict[str, ProviderEndpoint] = {}
        self._clients: dict[str, ClientEndpoint] = {}

    # ------------------------------------------------------------------------------------ routing

    def route(self, raw: str | bytes) -> Routed | None:
        """Route one frame as read; what it asks of the connection, or ``None`` when it asks nothing."""
        try:
            frame = parse_inbound(raw, max_depth=self.max_json_depth, max_bytes=self.max_frame_bytes)
            if isinstance(frame, AckFrame):
                self.correlator.resolve(frame)
                return None
            if isinstance(frame, ChannelMessagePayload):
                return self._route_channel_message(frame)
            push = parse_push(frame)
        except FrameRefused as exc:
            self.stats.errors += 1
            log.warning("runtime.frame_refused", error=str(exc))
            if exc.ack is None:
                return None
            # ``stack`` lets node-adapter rebuild the error, name included, as its ChannelError's cause.
            error = {"name": exc.name, "message": exc.message, "stack": str(exc)}
            return Refusal(failure_reply(exc.ack, str(exc), error), "openfin-refuse-frame")
        except ProtocolError as exc:
            self.stats.errors += 1
            log.warning("runtime.bad_frame", error=str(exc))
            return None
        if isinstance(push, ChannelMessagePayload):
            return self._route_channel_message(push)
        if isinstance(push, ChannelConnectionPayload):
            return self._route_channel_connection(push)
        if isinstance(push, DesktopEvent):
            self.stats.errors += self.events.deliver(push)
            return None
        log.debug("runtime.push_ignored", action=frame.action)
        return None

    def _route_channel_connection(self, push: ChannelConnectionPayload) -> Routed:
        identity = push.provider_identity
        # A client's connection can arrive right behind the create-channel ack, before the provider
        # has read the ack and learnt its channelId: it belongs to the channel being created by that name.
        provider = self._providers.get(identity.channel_id) or self._creating.get(identity.channel_name)
        if provider is None:
            reason = f'Channel "{identity.channel_name}" has been destroyed.'
            return Refusal(failure_reply(push.ack_to_sender, reason), "openfin-refuse-connection")
        return ConnectionDelivery(provider, push, f"openfin-connection-{identity.channel_name}")

    def _route_channel_message(self, push: ChannelMessagePayload) -> Routed:
        target = channel_message_target(push)
        if target is not None:
            kind, key = target
            if kind == "provider":
                provider = self._providers.get(key)
                if provider is not None:
                    return ProviderMessage(provider, push)
            else:
                client = self._clients.get(key)
                if client is not None:
                    return MessageDelivery(client, push, f"openfin-action-{push.action}")
        wanted = target[1] if target is not None else None
        reason = (
            f"Client connection with identity uuid: {self.uuid} / name: {self.uuid} / "
            f"endpointId: {wanted} no longer connected."
        )
        return Refusal(failure_reply(push.ack_to_sender, reason), "openfin-refuse-message")

    # ------------------------------------------------------------------------- channel endpoints

    def expect_provider(self, channel_name: str, endpoint: ProviderEndpoint | None) -> None:
        """Route connections to ``channel_name`` to ``endpoint`` while its create-channel is in flight
        (``None``: the create is over)."""
        if endpoint is None:
            self._creating.pop(channel_name, None)
        else:
            self._creating[channel_name] = endpoint

    def register_provider(self, channel_id: str, endpoint: ProviderEndpoint) -> None:
        """Route pushes for ``channel_id`` to ``endpoint`` (our provider)."""
        self._providers[channel_id] = endpoint

    def unregister_provider(self, channel_id: str) -> None:
        """Stop routing pushes for ``channel_id``."""
        self._providers.pop(channel_id, None)

    def register_client(self, endpoint_id: str, endpoint: ClientEndpoint) -> None:
        """Route pushes for our client connection ``endpoint_id`` to ``endpoint``."""
        self._clients[endpoint_id] = endpoint

    def unregister_client(self, endpoint_id: str) -> None:
        """Stop routing pushes for ``endpoint_id``."""
        self._clients.pop(endpoint_id, None)
