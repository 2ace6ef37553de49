"""``ChannelClient``: our connection to a channel someone else provides (the interop broker, for one).

``connect`` waits for the provider like node-adapter does: a missing channel is answered ``internal-nack``,
and we retry with growing delays, early when the runtime announces a channel ``connected`` with our name.
Actions the provider dispatches to us are served from our own ``ActionRegistry``. When the provider goes
away (``disconnected`` event) or the runtime does, ``on_disconnection`` runs; whoever owns the client
decides whether to connect again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from pydantic import ValidationError

from adapter.jsoncodec import NestingError
from adapter.openfin.connection import RuntimeConnection
from adapter.openfin.desktop_events import EventSubscription
from adapter.openfin.errors import (
    ChannelActionError,
    ChannelClosedError,
    ChannelConnectionRejected,
    ChannelNotFound,
    FrameTooLargeError,
    ProtocolError,
    ReplyTooLargeError,
    RuntimeRequestError,
)
from adapter.openfin.frames import ChannelMessagePayload, DesktopEvent, RoutingInfo
from adapter.openfin.registry import ActionRegistry, error_reply

log = structlog.get_logger(__name__)

NO_CHANNEL_YET = "internal-nack"
_OFFER = {"supportedProtocols": [{"type": "classic", "version": 5}], "maxProtocols": 2}


def _provider_not_ready(reason: str) -> bool:
    # A node provider answers this while its channel exists on the runtime but not yet (or no longer) in
    # its own process: the runtime announced the channel before the provider finished setting it up.
    return reason.startswith('Channel "') and reason.endswith('" has been destroyed.')


def retry_delay(attempt: int) -> float:
    """node-adapter's wait before connect retry ``attempt``: 0.5 s doubled every 10 tries, at most 30 s."""
    return float(min(30.0, 0.5 * 2 ** (attempt // 10)))


class ChannelClient:
    """One client connection of ours to a provider's channel."""

    def __init__(
        self,
        connection: RuntimeConnection,
        channel_name: str,
        *,
        on_disconnection: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        self.connection = connection
        self.channel_name = channel_name
        self.actions = ActionRegistry()
        self._on_disconnection = on_disconnection
        self._routing: RoutingInfo | None = None
        self._subscription: EventSubscription | None = None

    @property
    def routing(self) -> RoutingInfo:
        """The provider identity and our endpointId; ``ChannelClosedError`` when not connected."""
        if self._routing is None:
            raise ChannelClosedError(f"Not connected to channel {self.channel_name!r}")
        return self._routing

    @property
    def is_connected(self) -> bool:
        """Whether we hold a live connection to the provider."""
        return self._routing is not None

    async def connect(self, payload: Any = None, *, wait: bool = True, timeout: float = 30.0) -> RoutingInfo:  # noqa: ASYNC109 (every request owns its deadline)
        """Connect to the channel, waiting up to ``timeout`` seconds for its provider when ``wait``.

        Raises ``ChannelNotFound`` when no provider appeared, ``ChannelConnectionRejected`` when the
        provider refused us, ``RuntimeRequestError``/``RuntimeNotConnectedError`` for runtime trouble.
        """
        if self._subscription is None:
            self._subscription = await self.connection.subscribe_event(
                "channel", "disconnected", self._provider_disconnected
            )
        appeared = asyncio.Event()
        announcement = await self.connection.subscribe_event(
            "channel", "connected", lambda event: self._channel_announced(event, appeared)
        )
        message: dict[str, Any] = {"channelName": self.channel_name, "wait": wait, "offer": _OFFER}
        if payload is not None:
            message["payload"] = payload
        try:
            async with asyncio.timeout(timeout):
                attempt = 0
                while True:
                    appeared.clear()
                    try:
                        data = await self.connection.request("connect-to-channel", message)
                        break
                    except RuntimeRequestError as exc:
                        if exc.reason != NO_CHANNEL_YET and not _provider_not_ready(exc.reason):
                            raise ChannelConnectionRejected(exc.reason) from None
                        if not wait:
                            raise ChannelNotFound(self.channel_name) from None
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(retry_delay(attempt)):
                            await appeared.wait()
                    attempt += 1
                    message["retryInfo"] = {"count": attempt, "gotConnectedEvent": appeared.is_set()}
        except TimeoutError:
            raise ChannelNotFound(self.channel_name) from None
        finally:
            await announcement.unsubscribe()
        try:
            routing = RoutingInfo.model_validate(data)
        except ValidationError as exc:
            # Only where the answer was wrong, never its content: a runtime may send anything.
            where = "; ".join(".".join(map(str, err["loc"])) or "<answer>" for err in exc.errors())
            raise ProtocolError(f"Malformed answer to connect-to-channel ({where})") from None
        if routing.endpoint_id is None:
            raise ChannelConnectionRejected("The runtime assigned no endpointId to our connection")
        self._routing = routing
        self.connection.register_client(routing.endpoint_id, self)
        log.info("channel.client.connected", channel=self.channel_name, endpoint=routing.endpoint_id)
        return routing

    async def dispatch(self, action: str, payload: Any = None, *, timeout: float | None = None) -> Any:  # noqa: ASYNC109 (every request owns its deadline)
        """Dispatch ``action`` to the provider and return its handler's result.

        Raises ``ChannelActionError`` when the provider's handler failed (``reason``, ``error``),
        ``ChannelClosedError`` when we are not connected.
        """
        routing = self.routing
        target = routing.target()
        provider = dict(target)
        provider.pop("endpointId", None)
        message: dict[str, Any] = {**target, "providerIdentity": provider, "action": action}
        if payload is not None:
            message["payload"] = payload
        try:
            data = await self.connection.request("send-channel-message", message, timeout=timeout)
        except RuntimeRequestError as exc:
            raise ChannelActionError(action, exc.reason, exc.error) from None
        return data.get("result") if isinstance(data, dict) else None

    async def disconnect(self) -> None:
        """Leave the channel (the provider sees ``client-disconnected``)."""
        routing, self._routing = self._routing, None
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None
        if routing is None or routing.endpoint_id is None:
            return
        self.connection.unregister_client(routing.endpoint_id)
        await self.connection.request(
            "disconnect-from-channel",
            {
                "channelName": self.channel_name,
                "uuid": routing.uuid,
                "name": routing.name,
                "endpointId": routing.endpoint_id,
            },
        )

    def drop(self) -> None:
        """Forget the connection without telling the runtime (it is already gone)."""
        routing, self._routing = self._routing, None
        if routing is not None and routing.endpoint_id is not None:
            self.connection.unregister_client(routing.endpoint_id)

    async def handle_message(self, push: ChannelMessagePayload) -> None:
        """Serve an action the provider dispatched to us."""
        reply = await self.actions.reply_frame(
            push.ack_to_sender, push.action, push.payload, push.sender_identity
        )
        try:
            await self.connection.send(reply)
        except (FrameTooLargeError, NestingError) as exc:
            log.warning("channel.client.reply_refused", action=push.action, error=str(exc))
            await self.connection.send(error_reply(push.ack_to_sender, ReplyTooLargeError(str(exc))))

    def _channel_announced(self, event: DesktopEvent, appeared: asyncio.Event) -> None:
        if (event.model_extra or {}).get("channelName") == self.channel_name:
            appeared.set()

    def _provider_disconnected(self, event: DesktopEvent) -> None:
        routing = self._routing
        if routing is None or (event.model_extra or {}).get("channelId") != routing.channel_id:
            return
        log.info("channel.client.provider_gone", channel=self.channel_name)
        self.drop()
        if self._on_disconnection is not None:
            self.connection.spawn(self._notify(), name="openfin-provider-gone")

    async def _notify(self) -> None:
        if self._on_disconnection is None:
            return
        outcome = self._on_disconnection()
        if inspect.isawaitable(outcome):
            await outcome
