"""Channels: providers, client endpoints, message routing and the relay of ``send-channel-result``.

docs/emulators/runtime.md, "Channels" and "Cleanup when a socket closes". The runtime never answers
``connect-to-channel`` or ``send-channel-message`` itself once a target exists: it pushes the request to the
target with an ``ackToSender`` and relays the target's ``send-channel-result`` to the sender as the reply.
Every relay still outstanding when its target goes away is answered with a failure, so no client waits
forever.
"""

from __future__ import annotations

import uuid as uuidlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapter.emulators.runtime.client_link import ClientLink
from adapter.emulators.runtime.errors import ActionRefusedError
from adapter.emulators.runtime.events import DesktopEvents
from adapter.emulators.runtime.frames import ack, nack, push

log = structlog.get_logger(__name__)

MAX_ABANDONED = 1024
"""How many requests whose target left are remembered, so that their late answers are not strays."""

CHANNEL_RESULT_ACTION = "send-channel-result"
INTERNAL_NACK = "internal-nack"
M = TypeVar("M", bound=BaseModel)

DUPLICATE_CHANNEL = (
    "Channel creation failed: Please note that only one channel may be registered per channelName."
)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class CreateChannel(_Payload):
    """``create-channel`` and ``destroy-channel`` payload."""

    channelName: str = Field(min_length=1)


class ConnectToChannel(_Payload):
    """``connect-to-channel`` payload as node-adapter sends it."""

    channelName: str = Field(min_length=1)
    payload: Any = None
    offer: Any = None
    connectionUrl: str | None = None


class SendChannelMessage(_Payload):
    """``send-channel-message``: the target identity spread at top level, plus providerIdentity and action."""

    action: str = Field(min_length=1)
    payload: Any = None
    channelId: str | None = None
    endpointId: str | None = None
    providerIdentity: dict[str, Any] = Field(default_factory=dict)


class ChannelResult(_Payload):
    """``send-channel-result``: the target's answer, an echoed ackToSender payload."""

    correlationId: int
    destinationToken: dict[str, Any]
    success: bool = True
    payload: Any = None
    reason: str | None = None
    error: dict[str, Any] | None = None


class DisconnectFromChannel(_Payload):
    """``disconnect-from-channel`` payload: the channel, the provider, and the client's own endpointId."""

    channelName: str = Field(min_length=1)
    endpointId: str | None = None


@dataclass(slots=True)
class MessageRequest:
    """A checked `SendChannelMessage`."""

    action: str
    payload: Any
    channelId: str | None
    endpointId: str | None
    providerIdentity: dict[str, Any]


@dataclass(slots=True)
class Result:
    """A checked `ChannelResult`."""

    correlationId: int
    destinationToken: dict[str, Any]
    success: bool
    payload: Any
    reason: str | None
    error: dict[str, Any] | None


# The two payloads every relayed message carries. Validating one that already has the exact JSON types would
# only copy it, so such payloads (all that node-adapter sends) skip the model; anything else goes through
# the model, which coerces or refuses it as before.


def _message_request(payload: dict[str, Any]) -> MessageRequest:
    get = payload.get
    action, channel_id, endpoint_id = get("action"), get("channelId"), get("endpointId")
    provider_identity = get("providerIdentity", _ABSENT)
    if (
        type(action) is str
        and action
        and (channel_id is None or type(channel_id) is str)
        and (endpoint_id is None or type(endpoint_id) is str)
        and (provider_identity is _ABSENT or type(provider_identity) is dict)
    ):
        identity = {} if provider_identity is _ABSENT else provider_identity
        return MessageRequest(action, get("payload"), channel_id, endpoint_id, identity)
    model = parse_payload(SendChannelMessage, payload)
    return MessageRequest(
        model.action, model.payload, model.channelId, model.endpointId, model.providerIdentity
    )


def _channel_result(payload: dict[str, Any]) -> Result:
    """Raises ``ValidationError`` as `ChannelResult` would."""
    get = payload.get
    correlation_id, token = get("correlationId"), get("destinationToken")
    success, reason, error = get("success", True), get("reason"), get("error")
    if (
        type(correlation_id) is int
        and type(token) is dict
        and type(success) is bool
        and (reason is None or type(reason) is str)
        and (error is None or type(error) is dict)
    ):
        return Result(correlation_id, token, success, get("payload"), reason, error)
    model = ChannelResult.model_validate(payload)
    return Result(
        model.correlationId, model.destinationToken, model.success, model.payload, model.reason, model.error
    )


_ABSENT: Any = object()


def parse_payload(model: type[M], payload: dict[str, Any]) -> M:
    """Validate ``payload`` as ``model``; raise ``ActionRefusedError`` naming the bad fields."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) or "payload" for err in exc.errors())
        raise ActionRefusedError(f"Invalid payload: bad or missing {fields}") from None


@dataclass(eq=False)
class ClientEndpoint:
    """One client connection to a channel; an entity may hold several, told apart by ``endpointId``."""

    connection: ClientLink
    identity: dict[str, Any]

    @property
    def endpoint_id(self) -> str:
        """The runtime-assigned id of this endpoint."""
        return str(self.identity["endpointId"])


@dataclass(eq=False)
class Channel:
    """A named channel, its provider and its accepted clients."""

    name: str
    channel_id: str
    provider: ClientLink
    provider_identity: dict[str, Any]
    clients: dict[str, ClientEndpoint] = field(default_factory=dict)


@dataclass(eq=False)
class Relay:
    """A request pushed to a target that the target's ``send-channel-result`` will answer."""

    sender: ClientLink
    correlation_id: int
    target: ClientLink
    channel: Channel
    joining: ClientEndpoint | None = None
    target_endpoint: str | None = None


class ChannelBus:
    """Every channel of the runtime, with its routing and cleanup rules (docs/emulators/runtime.md)."""

    def __init__(
        self,
        events: DesktopEvents,
        *,
        channel_id_style: Literal["guid", "path"] = "guid",
        relay_errors: bool = True,
    ) -> None:
        self._events = events
        self._channel_id_style = channel_id_style
        self._relay_errors = relay_errors
        self._by_name: dict[str, Channel] = {}
        self._by_id: dict[str, Channel] = {}
        self._relays: dict[tuple[str, int], Relay] = {}
        # Requests whose target left before answering (already failed to their sender): an answer that the
        # target sends on its way out is expected, not a stray. Bounded: only the newest are remembered.
        self._abandoned: OrderedDict[tuple[str, int], None] = OrderedDict()

    # -- queries ---------------------------------------------------------------------------------------------

    def all_channels(self) -> list[dict[str, Any]]:
        """The providerIdentity of every channel (``get-all-channels``)."""
        return [dict(channel.provider_identity) for channel in self._by_name.values()]

    def get(self, name: str) -> Channel | None:
        """The channel called ``name``, if it exists."""
        return self._by_name.get(name)

    @property
    def pending_relays(self) -> int:
        """How many pushed requests still wait for their target's answer."""
        return len(self._relays)

    # -- actions ---------------------------------------------------------------------------------------------

    def create(self, connection: ClientLink, payload: dict[str, Any]) -> dict[str, Any]:
        """``create-channel``: register the channel and return its providerIdentity.

        The caller acks, then calls ``announce``: a client woken by the ``connected`` event must not reach
        the provider before the provider has its ack (node-adapter would answer "has been destroyed").
        """
        request = parse_payload(CreateChannel, payload)
        if request.channelName in self._by_name:
            raise ActionRefusedError(DUPLICATE_CHANNEL)
        identity = connection.identity
        channel_id = (
            f"{identity['uuid']}/{identity['name']}/{request.channelName}"
            if self._channel_id_style == "path"
            else str(uuidlib.uuid4())
        )
        provider_identity = {
            **identity,
            "isExternal": connection.is_external,
            "channelName": request.channelName,
            "channelId": channel_id,
        }
        channel = Channel(request.channelName, channel_id, connection, provider_identity)
        self._by_name[channel.name] = channel
        self._by_id[channel_id] = channel
        log.info("channel.created", channel=channel.name, provider=identity["uuid"])
        return dict(provider_identity)

    def announce(self, provider_identity: dict[str, Any]) -> None:
        """Emit the channel ``connected`` event (and CORE's legacy twin) for a created channel."""
        self._emit_channel_event(("connected", "channel-connected"), provider_identity)

    def connect(self, connection: ClientLink, payload: dict[str, Any], message_id: int) -> None:
        """``connect-to-channel``: ``internal-nack`` when absent, else push the connection to the provider."""
        request = parse_payload(ConnectToChannel, payload)
        channel = self._by_name.get(request.channelName)
        if channel is None:
            raise ActionRefusedError(INTERNAL_NACK)
        client_identity: dict[str, Any] = {
            **connection.identity,
            "isExternal": connection.is_external,
            "endpointId": str(uuidlib.uuid4()),
            "entityType": connection.entity_type,
        }
        if request.connectionUrl is not None:
            client_identity["connectionUrl"] = request.connectionUrl
        joining = ClientEndpoint(connection, client_identity)
        ack_to_sender = self._ack_to_sender(
            message_id, client_identity, {**channel.provider_identity, "endpointId": joining.endpoint_id}
        )
        self._remember(Relay(connection, message_id, channel.provider, channel, joining=joining))
        connection_push: dict[str, Any] = {
            "ackToSender": ack_to_sender,
            "providerIdentity": dict(channel.provider_identity),
            "clientIdentity": dict(client_identity),
            "offer": request.offer,
        }
        # Forwarded only when the client sent one: the provider's onConnection then sees undefined, not null.
        if "payload" in request.model_fields_set:
            connection_push["payload"] = request.payload
        channel.provider.send(push("process-channel-connection", connection_push))

    def send_message(self, connection: ClientLink, payload: dict[str, Any], message_id: int) -> None:
        """``send-channel-message``: a top-level ``channelId`` targets the provider, else a client."""
        request = _message_request(payload)
        if request.channelId is not None:
            channel = self._by_id.get(request.channelId)
            if channel is None:
                raise ActionRefusedError(f"Channel with channelId {request.channelId} does not exist.")
            sender = channel.clients.get(request.endpointId or "")
            if sender is None or sender.connection is not connection:
                raise ActionRefusedError(
                    f"Client with endpointId {request.endpointId} is not connected to channel {channel.name}."
                )
            target, intended, sender_identity = channel.provider, channel.provider_identity, sender.identity
            target_endpoint = None
        else:
            channel = self._by_id.get(str(request.providerIdentity.get("channelId")))
            if channel is None:
                raise ActionRefusedError(
                    f"Channel with channelId {request.providerIdentity.get('channelId')} does not exist."
                )
            if channel.provider is not connection:
                raise ActionRefusedError(
                    f"Only the provider of channel {channel.name} can send to its clients."
                )
            endpoint = channel.clients.get(request.endpointId or "")
            if endpoint is None:
                raise ActionRefusedError(_gone_client(payload))
            target, intended, sender_identity = (
                endpoint.connection,
                endpoint.identity,
                channel.provider_identity,
            )
            target_endpoint = endpoint.endpoint_id
        self._remember(Relay(connection, message_id, target, channel, target_endpoint=target_endpoint))
        target.send(
            push(
                "process-channel-message",
                {
                    "ackToSender": self._ack_to_sender(message_id, sender_identity, {}),
                    "providerIdentity": dict(channel.provider_identity),
                    "action": request.action,
                    "senderIdentity": dict(sender_identity),
                    "payload": request.payload,
                    "intendedTargetIdentity": dict(intended),
                },
            )
        )

    def relay_result(self, connection: ClientLink, payload: dict[str, Any]) -> None:
        """``send-channel-result``: turn the target's answer into the sender's reply (no reply of its own)."""
        try:
            result = _channel_result(payload)
        except ValidationError:
            log.warning("channel.result.malformed", connection=connection.id)
            return
        key = (str(result.destinationToken.get("uuid")), result.correlationId)
        relay = self._relays.get(key)
        if relay is None and key in self._abandoned:
            del self._abandoned[key]
            log.debug("channel.result.late", connection=connection.id, correlation=result.correlationId)
            return
        if relay is None or relay.target is not connection:
            log.warning(
                "channel.result.unmatched", connection=connection.id, correlation=result.correlationId
            )
            return
        del self._relays[key]
        if not result.success:
            reason = result.reason or "Channel action failed"
            relay.sender.send(
                nack(relay.correlation_id, reason, result.error if self._relay_errors else None)
            )
            return
        if relay.joining is not None:
            if relay.sender.closed or relay.channel is not self._by_id.get(relay.channel.channel_id):
                return
            relay.channel.clients[relay.joining.endpoint_id] = relay.joining
            log.info("channel.client.joined", channel=relay.channel.name, client=relay.sender.uuid)
        relay.sender.send(ack(relay.correlation_id, result.payload if result.payload is not None else {}))

    def disconnect(self, connection: ClientLink, payload: dict[str, Any]) -> None:
        """``disconnect-from-channel``: drop the client endpoint and emit ``client-disconnected``."""
        request = parse_payload(DisconnectFromChannel, payload)
        channel = self._by_name.get(request.channelName)
        if channel is None:
            return
        endpoint = channel.clients.get(request.endpointId or "")
        if endpoint is not None and endpoint.connection is connection:
            self._drop_client(channel, endpoint)

    def destroy(self, connection: ClientLink, payload: dict[str, Any]) -> None:
        """``destroy-channel``: only the provider may; emits ``disconnected``."""
        request = parse_payload(CreateChannel, payload)
        channel = self._by_name.get(request.channelName)
        if channel is None:
            raise ActionRefusedError(f"Channel {request.channelName} does not exist.")
        if channel.provider is not connection:
            raise ActionRefusedError("Channel can only be destroyed from application that created it.")
        self._drop_channel(channel)

    def drop(self, connection: ClientLink) -> None:
        """Clean up after a closed connection: its channels, its client endpoints, relays it waited for."""
        for channel in [c for c in self._by_name.values() if c.provider is connection]:
            self._drop_channel(channel)
        for channel in list(self._by_name.values()):
            for endpoint in [e for e in channel.clients.values() if e.connection is connection]:
                self._drop_client(channel, endpoint)
        for key, relay in list(self._relays.items()):
            if relay.sender is connection:
                del self._relays[key]
            elif relay.target is connection:
                self._abandon(key)
                relay.sender.send(nack(relay.correlation_id, self._target_gone_reason(relay)))

    # -- internals -------------------------------------------------------------------------------------------

    def _abandon(self, key: tuple[str, int]) -> None:
        del self._relays[key]
        self._abandoned[key] = None
        if len(self._abandoned) > MAX_ABANDONED:
            self._abandoned.popitem(last=False)

    def _remember(self, relay: Relay) -> None:
        assert relay.sender.uuid is not None
        key = (relay.sender.uuid, relay.correlation_id)
        if key in self._relays:
            raise ActionRefusedError(f"messageId {relay.correlation_id} is already waiting for an answer")
        self._abandoned.pop(key, None)
        self._relays[key] = relay

    @staticmethod
    def _ack_to_sender(
        correlation_id: int, destination: dict[str, Any], payload: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "action": CHANNEL_RESULT_ACTION,
            "payload": {
                "correlationId": correlation_id,
                "destinationToken": dict(destination),
                "payload": payload,
                "success": True,
            },
        }

    def _drop_client(self, channel: Channel, endpoint: ClientEndpoint) -> None:
        channel.clients.pop(endpoint.endpoint_id, None)
        for key, relay in list(self._relays.items()):
            if relay.channel is channel and relay.target_endpoint == endpoint.endpoint_id:
                self._abandon(key)
                relay.sender.send(nack(relay.correlation_id, self._target_gone_reason(relay)))
        log.info("channel.client.left", channel=channel.name, client=endpoint.connection.uuid)
        self._events.emit(
            "channel",
            "client-disconnected",
            {**endpoint.identity, "channelName": channel.name, "channelId": channel.channel_id},
        )

    def _drop_channel(self, channel: Channel) -> None:
        self._by_name.pop(channel.name, None)
        self._by_id.pop(channel.channel_id, None)
        for key, relay in list(self._relays.items()):
            if relay.channel is channel:
                self._abandon(key)
                relay.sender.send(nack(relay.correlation_id, self._target_gone_reason(relay)))
        channel.clients.clear()
        log.info("channel.destroyed", channel=channel.name)
        self._emit_channel_event(("disconnected", "channel-disconnected"), channel.provider_identity)

    def _emit_channel_event(self, kinds: tuple[str, ...], fields: dict[str, Any]) -> None:
        for kind in kinds:
            self._events.emit("channel", kind, dict(fields))

    @staticmethod
    def _target_gone_reason(relay: Relay) -> str:
        if relay.target_endpoint is not None:
            identity = relay.target.identity if relay.target.authorized else {"uuid": None, "name": None}
            return _gone_client({**identity, "endpointId": relay.target_endpoint})
        return f'Channel "{relay.channel.name}" has been destroyed.'


def _gone_client(identity: dict[str, Any]) -> str:
    return (
        f"Client connection with identity uuid: {identity.get('uuid')} / name: {identity.get('name')} "
        f"/ endpointId: {identity.get('endpointId')} no longer connected."
    )
