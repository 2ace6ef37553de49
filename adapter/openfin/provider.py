"""``ChannelProvider``: a channel we create on the runtime and serve to every app that connects to it.

Actions are registered by name (``@provider.action("name", payload=Model)``), handlers receive the
validated payload and the caller's ``ClientIdentity``. ``on_connection`` may refuse a client (raise
``ChannelConnectionRejected(reason)``) or return a value the client receives as its connection result;
``on_disconnection`` learns when a client leaves, whether it disconnected, its window closed, or the
runtime went away. After a runtime reconnect the channel is created again under the same name.

Why one module: the channel's life on the runtime, its table of connected clients, the messages it sends
them and the actions it answers all read and change that one table, which no other module should hold.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

import structlog
from pydantic import BaseModel

from adapter.jsoncodec import NestingError
from adapter.openfin.channel_clients import ChannelClients, client_key
from adapter.openfin.connection import RuntimeConnection
from adapter.openfin.delivery import (
    DEFAULT_BACKLOG,
    ClientDelivery,
    DeliveryCounts,
    DispatchOutcome,
    Event,
    Fanout,
    Mailbox,
    event_error,
    log_fanout,
)
from adapter.openfin.desktop_events import EventSubscription
from adapter.openfin.errors import (
    ActionNotFound,
    ChannelActionError,
    ChannelClosedError,
    ChannelConnectionRejected,
    ClientNotConnectedError,
    ConnectionLostError,
    FrameTooLargeError,
    ReplyTooLargeError,
    RuntimeNotConnectedError,
    RuntimeRequestError,
)
from adapter.openfin.frames import (
    ChannelConnectionPayload,
    ChannelMessagePayload,
    ClientIdentity,
    DesktopEvent,
    Identity,
    ProviderIdentity,
    encode,
    encode_channel_message,
    encode_target,
    failure_reply,
    success_reply,
)
from adapter.openfin.registry import ActionHandler, ActionRegistry, error_reply

log = structlog.get_logger(__name__)

ConnectionHook = Callable[[ClientIdentity, Any], Awaitable[Any] | Any]
"""``on_connection(client, payload) -> result``: raise ``ChannelConnectionRejected`` to refuse the client."""

DisconnectionHook = Callable[[ClientIdentity], Awaitable[None] | None]
"""``on_disconnection(client)``: the client is gone."""


class ChannelProvider:
    """A channel served by this process; ``await provider.create()`` once its actions are registered."""

    def __init__(
        self,
        connection: RuntimeConnection,
        channel_name: str,
        *,
        on_connection: ConnectionHook | None = None,
        on_disconnection: DisconnectionHook | None = None,
        event_backlog: int = DEFAULT_BACKLOG,
    ) -> None:
        self.connection = connection
        self.event_backlog = event_backlog
        self.channel_name = channel_name
        self.actions = ActionRegistry()
        self._on_connection = on_connection
        self._on_disconnection = on_disconnection
        self._identity: ProviderIdentity | None = None
        self._identity_json: tuple[ProviderIdentity | None, str] = (None, "")
        self._clients = ChannelClients()
        # Each connected client's identity as encoded for send-channel-message, kept while it stays.
        self._targets: dict[str, tuple[ClientIdentity, str]] = {}
        self._subscription: EventSubscription | None = None
        self._deliveries: dict[str, ClientDelivery] = {}
        # What became of the events of clients that have left since.
        self._departed = DeliveryCounts()
        self.too_large_hint = "ask for less"
        """How a caller whose reply was too large for one frame can ask for less (the channel's words)."""

    # ------------------------------------------------------------------------------- registration

    def action(
        self, name: str, *, payload: type[BaseModel] | None = None
    ) -> Callable[[ActionHandler], ActionHandler]:
        """Decorator registering an action handler; duplicates raise ``DuplicateActionError``."""
        return self.actions.action(name, payload=payload)

    def register(self, name: str, handler: ActionHandler, *, payload: type[BaseModel] | None = None) -> None:
        """Register an action handler; duplicates raise ``DuplicateActionError``."""
        self.actions.register(name, handler, payload=payload)

    def on_connection(self, hook: ConnectionHook) -> ConnectionHook:
        """Decorator setting the connection hook."""
        self._on_connection = hook
        return hook

    def on_disconnection(self, hook: DisconnectionHook) -> DisconnectionHook:
        """Decorator setting the disconnection hook."""
        self._on_disconnection = hook
        return hook

    # ---------------------------------------------------------------------------------- lifecycle

    @property
    def identity(self) -> ProviderIdentity:
        """The providerIdentity the runtime gave the channel; ``ChannelClosedError`` when not created."""
        if self._identity is None:
            raise ChannelClosedError(f"Channel {self.channel_name!r} is not created")
        return self._identity

    @property
    def is_open(self) -> bool:
        """Whether the channel currently exists on the runtime."""
        return self._identity is not None

    @property
    def connections(self) -> list[ClientIdentity]:
        """The clients connected now, in connection order."""
        return list(self._clients)

    def client_uuids(self) -> list[str]:
        """The distinct uuids of the clients connected now, sorted."""
        return self._clients.uuids()

    def app_connected(self, client: Identity) -> bool:
        """Whether the app ``client`` belongs to (its uuid and name) has any connection to the channel now;
        one app may connect several times (several endpoints)."""
        return self._clients.app_connected(client)

    async def create(self) -> ProviderIdentity:
        """Create the channel on the runtime; it is re-created by itself after every reconnect.

        Raises ``RuntimeRequestError`` when the runtime refuses (another provider holds the name).
        """
        if self._subscription is None:
            self._subscription = await self.connection.subscribe_event(
                "channel", "client-disconnected", self._client_disconnected
            )
        identity = await self._create_channel()
        self.connection.attach(self)
        return identity

    async def _create_channel(self) -> ProviderIdentity:
        self.connection.expect_provider(self.channel_name, self)
        try:
            data = await self.connection.request("create-channel", {"channelName": self.channel_name})
        finally:
            self.connection.expect_provider(self.channel_name, None)
        identity = ProviderIdentity.model_validate(data)
        self._identity = identity
        self.connection.register_provider(identity.channel_id, self)
        log.info("channel.created", channel=self.channel_name, channel_id=identity.channel_id)
        return identity

    async def destroy(self) -> None:
        """Destroy the channel (clients see the provider disconnect) and stop re-creating it."""
        self.connection.detach(self)
        await self._destroy()
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _destroy(self) -> None:
        identity, self._identity = self._identity, None
        self._clients.clear()
        self._targets.clear()
        self._stop_deliveries()
        if identity is None:
            return
        self.connection.unregister_provider(identity.channel_id)
        await self.connection.request("destroy-channel", {"channelName": self.channel_name})
        log.info("channel.destroyed", channel=self.channel_name)

    def connection_lost(self) -> None:
        """The runtime forgot the channel and its clients: each client counts as disconnected."""
        if self._identity is not None:
            self.connection.unregister_provider(self._identity.channel_id)
        self._identity = None
        clients = list(self._clients)
        self._clients.clear()
        self._targets.clear()
        self._stop_deliveries()
        for client in clients:
            self.connection.spawn(self._notify_disconnection(client), name="openfin-client-gone")

    async def restore(self) -> None:
        """Create the channel again after a reconnect."""
        await self._create_channel()

    async def shutdown(self) -> None:
        """Destroy the channel while the socket is still open (clean shutdown)."""
        await self._destroy()

    # ---------------------------------------------------------------------------------- to clients

    async def dispatch(
        self,
        client: ClientIdentity,
        action: str,
        payload: Any = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (every request owns its deadline)
    ) -> Any:
        """Dispatch ``action`` to one client and return its handler's result.

        Raises ``ChannelActionError`` when the client's handler failed or it has none,
        ``ChannelClosedError`` when the channel is not open.
        """
        return await self._dispatch_json(
            client, action, None if payload is None else encode(payload), timeout=timeout
        )

    async def _dispatch_json(
        self,
        client: ClientIdentity,
        action: str,
        payload_json: str | None,
        *,
        timeout: float | None,  # noqa: ASYNC109 (every request owns its deadline)
        sent: Callable[[], object] | None = None,
    ) -> Any:
        message = encode_channel_message(
            self._target_json(client), self._provider_json(), action, payload_json
        )
        try:
            data = await self.connection.request_json(
                "send-channel-message", message, timeout=timeout, sent=sent
            )
        except RuntimeRequestError as exc:
            raise ChannelActionError(action, exc.reason, exc.error) from None
        return data.get("result") if isinstance(data, dict) else None

    def _provider_json(self) -> str:
        identity = self.identity
        if self._identity_json[0] is not identity:
            self._identity_json = (identity, encode(identity.to_wire()))
        return self._identity_json[1]

    def _target_json(self, client: ClientIdentity) -> str:
        key = client_key(client)
        cached = self._targets.get(key)
        if cached is not None and cached[0] is client:
            return cached[1]
        target = encode_target(client)
        if self._clients.get(key) is client:
            self._targets[key] = (client, target)
        return target

    async def publish(
        self,
        action: str,
        payload: Any = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (every request owns its deadline)
    ) -> list[DispatchOutcome]:
        """Dispatch ``action`` to every connected client at once; one client's failure spares the others.

        The payload is encoded once for all clients; only the target differs between their messages.
        """
        clients = self.connections
        try:
            payload_json = None if payload is None else encode(payload)
            provider_json = self._provider_json()
        except (TypeError, ValueError, ChannelClosedError) as exc:
            return [_failed(client, action, exc) for client in clients]
        messages = [
            encode_channel_message(self._target_json(client), provider_json, action, payload_json)
            for client in clients
        ]
        replies = await self.connection.request_each_json("send-channel-message", messages, timeout=timeout)
        outcomes = []
        for client, reply in zip(clients, replies, strict=True):
            gone = client_key(client) not in self._clients
            if isinstance(reply, RuntimeRequestError):
                outcomes.append(
                    _failed(client, action, ChannelActionError(action, reply.reason, reply.error), gone=gone)
                )
            elif isinstance(reply, Exception):
                outcomes.append(_failed(client, action, reply, gone=gone))
            else:
                result = reply.get("result") if isinstance(reply, dict) else None
                outcomes.append(DispatchOutcome(client, result=result))
        return outcomes

    def post(self, action: str, payload: Any = None, *, key: Hashable | None = None) -> None:
        """Queue ``action`` for every connected client, each delivered by its own sender (``delivery``).

        Returns at once: a client that is slow to acknowledge delays only its own events. With ``key``, a
        client's waiting event of the same action and key is replaced by this one. Raises ``TypeError`` or
        ``ValueError`` when ``payload`` has no JSON form.
        """
        fanout = Fanout(action, len(self._clients), log_fanout) if self._clients else None
        event = Event(action, None if payload is None else encode(payload), fanout)
        ready: list[tuple[ClientIdentity, ClientDelivery, Event]] = []
        for endpoint, client in self._clients.items():
            delivery = self._deliveries.get(endpoint)
            if delivery is None:
                send = functools.partial(self._send_event, client)
                delivery = ClientDelivery(Mailbox(self.event_backlog), send, client.uuid)
                self._deliveries[endpoint] = delivery
            taken = delivery.post_ready(event, key, self._spawn)
            if taken is not None:
                ready.append((client, delivery, taken))
        if ready:
            # The clients not waiting on an answer get theirs in one pass, with no task per client.
            self._spawn(self._send_all(ready), f"openfin-fanout-{action}")

    async def _send_all(self, ready: list[tuple[ClientIdentity, ClientDelivery, Event]]) -> None:
        """Send each client its event in one pass; each client's sender resumes when its answer comes."""

        def replied(index: int, outcome: Any) -> None:
            _, delivery, event = ready[index]
            error = event_error(event.action, outcome)
            delivery.done(event, error, self._spawn)

        settled = 0
        try:
            provider_json = self._provider_json()
            messages = [
                encode_channel_message(
                    self._target_json(client), provider_json, event.action, event.payload_json
                )
                for client, _, event in ready
            ]
            outcomes = await self.connection.send_each_json("send-channel-message", messages, replied)
            for (_, delivery, event), error in zip(ready, outcomes, strict=True):
                settled += 1
                if error is None:
                    if event.fanout is not None:
                        event.fanout.wrote()
                else:
                    event.missed()
                    delivery.done(event, error, self._spawn)
        except BaseException as exc:
            # Nothing was sent for the rest (or the connection went): their copies are settled as missed.
            failure = exc if isinstance(exc, Exception) else ConnectionLostError()
            for _, delivery, event in ready[settled:]:
                event.missed()
                delivery.done(event, failure, self._spawn)
            raise

    def delivery_counts(self) -> list[tuple[ClientIdentity, int, DeliveryCounts]]:
        """For each connected client that was posted events: its identity, events waiting, and counts."""
        return [
            (client, len(delivery.mailbox), delivery.mailbox.counts)
            for client_key, delivery in self._deliveries.items()
            if (client := self._clients.get(client_key)) is not None
        ]

    def delivery_totals(self) -> DeliveryCounts:
        """The counts summed over every client since the channel was made, departed clients included."""
        totals = DeliveryCounts()
        totals.add(self._departed)
        for delivery in self._deliveries.values():
            totals.add(delivery.mailbox.counts)
        return totals

    async def _send_event(self, client: ClientIdentity, event: Event) -> None:
        fanout = event.fanout
        if fanout is None:
            await self._dispatch_json(client, event.action, event.payload_json, timeout=None)
            return
        written = False

        def wrote() -> None:
            nonlocal written
            written = True
            fanout.wrote()

        try:
            await self._dispatch_json(client, event.action, event.payload_json, timeout=None, sent=wrote)
        finally:
            if not written:
                fanout.missed()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = self.connection.spawn(coroutine, name=name)
        return task

    def _stop_delivery(self, client_key: str) -> None:
        delivery = self._deliveries.pop(client_key, None)
        if delivery is not None:
            delivery.stop()
            self._departed.add(delivery.mailbox.counts)

    def _stop_deliveries(self) -> None:
        for key in list(self._deliveries):
            self._stop_delivery(key)

    # ------------------------------------------------------------------------------ from runtime

    async def handle_connection(self, push: ChannelConnectionPayload) -> None:
        """Run ``on_connection`` for a connecting client and answer: accepted with its result, or refused."""
        client = push.client_identity
        try:
            result = None
            if self._on_connection is not None:
                result = self._on_connection(client, push.payload)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:
            reason = (
                exc.reason if isinstance(exc, ChannelConnectionRejected) else f"{type(exc).__name__}: {exc}"
            )
            log.info(
                "channel.connection_refused", channel=self.channel_name, client=client.uuid, reason=reason
            )
            await self.connection.send(failure_reply(push.ack_to_sender, reason))
            return
        self._clients.add(client)
        log.info(
            "channel.client_connected",
            channel=self.channel_name,
            client=client.uuid,
            endpoint=client.endpoint_id,
        )
        await self.connection.send(success_reply(push.ack_to_sender, result))

    def serve_message(self, push: ChannelMessagePayload) -> Coroutine[Any, Any, None] | None:
        """Serve the dispatched action for a connected client: an action whose handler is a plain function
        is run and answered now (``None``); for a coroutine function, the coroutine that runs it and sends
        its reply is returned, for the connection to run as a task."""
        sender = self._clients.get(client_key(push.sender_identity))
        if sender is None or sender.uuid != push.sender_identity.uuid:
            identity = push.sender_identity
            refusal = ClientNotConnectedError(identity.uuid, identity.name, identity.endpoint_id)
            self.connection.send_soon(error_reply(push.ack_to_sender, refusal))
            return None
        reply = self.actions.reply_now(push.ack_to_sender, push.action, push.payload, sender)
        if isinstance(reply, dict | str):
            self._reply(push, sender, reply)
            return None
        return self._reply_when_done(push, sender, reply)

    async def _reply_when_done(
        self,
        push: ChannelMessagePayload,
        sender: ClientIdentity,
        pending: Coroutine[Any, Any, dict[str, Any] | str],
    ) -> None:
        self._reply(push, sender, await pending)

    def _reply(
        self, push: ChannelMessagePayload, sender: ClientIdentity, reply: dict[str, Any] | str
    ) -> None:
        # Written without awaiting (queued behind the sends under way when the socket has no room now).
        try:
            try:
                self.connection.send_soon(reply)
            except (FrameTooLargeError, NestingError) as exc:
                # One frame too big or too deep for the socket: the caller learns why and may ask for less.
                too_large = ReplyTooLargeError(str(exc), self.too_large_hint)
                log.warning("channel.reply_refused", action=push.action, client=sender.uuid, error=str(exc))
                self.connection.send_soon(error_reply(push.ack_to_sender, too_large))
        except RuntimeNotConnectedError:
            # The socket dropped while the action ran: the runtime failed the caller's dispatch already.
            log.info("channel.reply_undeliverable", action=push.action, client=sender.uuid)

    def _client_disconnected(self, event: DesktopEvent) -> None:
        if self._identity is None:
            return
        extra = event.model_extra or {}
        if extra.get("channelId", self._identity.channel_id) != self._identity.channel_id:
            return
        if extra.get("channelName", self.channel_name) != self.channel_name:
            return
        key = client_key(ClientIdentity.model_validate(event.to_wire()))
        client = self._clients.remove(key)
        self._targets.pop(key, None)
        self._stop_delivery(key)
        if client is not None:
            log.info("channel.client_disconnected", channel=self.channel_name, client=client.uuid)
            self.connection.spawn(self._notify_disconnection(client), name="openfin-client-gone")

    async def _notify_disconnection(self, client: ClientIdentity) -> None:
        if self._on_disconnection is None:
            return
        outcome = self._on_disconnection(client)
        if inspect.isawaitable(outcome):
            await outcome


def _failed(client: ClientIdentity, action: str, error: Exception, *, gone: bool = False) -> DispatchOutcome:
    # A client that registered no handler for the action (a platform provider that only connects) refuses
    # every publish by design, and one that left while the publish was on its way cannot take it: worth a
    # debug line, not one per broadcast at info.
    unhandled = isinstance(error, ChannelActionError) and error.reason.endswith(ActionNotFound(action).reason)
    (log.debug if unhandled or gone else log.info)(
        "channel.publish_failed", action=action, client=client.uuid, error=str(error)
    )
    return DispatchOutcome(client, error=error)
