"""Wire frames of the OpenFin runtime websocket protocol as pydantic models, and pure functions around them.

Every frame is one JSON object in a text frame. Inbound frames are parsed by ``parse_frame`` into one of the
models below; every model accepts and keeps fields it does not know (modern runtimes add some), so that an
identity we received can be sent back verbatim. Outbound frames are built by the ``*_frame`` functions and
the reply builders, which return plain dicts ready for ``encode``.

Nothing here does I/O. Field names follow the wire (camelCase) through aliases; Python code uses snake_case.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapter import jsoncodec
from adapter.openfin.errors import ProtocolError


class WireModel(BaseModel):
    """Base of every frame model: wire aliases, unknown fields kept, fields settable by either name."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The model as a JSON-ready dict: wire names, unknown fields included, unset optionals left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# ---------------------------------------------------------------------------------------------- identities


class Identity(WireModel):
    """An OpenFin entity: ``uuid`` and ``name`` (equal for external connections)."""

    uuid: str
    name: str


class ClientIdentity(Identity):
    """The identity of one channel client connection, as the runtime gives it to the provider.

    ``endpoint_id`` tells apart several connections of one entity to the same channel.
    """

    endpoint_id: str | None = Field(default=None, alias="endpointId")
    is_external: bool | None = Field(default=None, alias="isExternal")
    entity_type: str | None = Field(default=None, alias="entityType")
    connection_url: str | None = Field(default=None, alias="connectionUrl")


class ProviderIdentity(Identity):
    """The identity of a channel provider; ``channel_id`` is opaque (a GUID or ``uuid/name/channel``)."""

    channel_name: str = Field(alias="channelName")
    channel_id: str = Field(alias="channelId")
    is_external: bool | None = Field(default=None, alias="isExternal")


class RoutingInfo(ProviderIdentity):
    """What a channel client gets back from ``connect-to-channel``: the provider, our endpoint, its answer."""

    endpoint_id: str | None = Field(default=None, alias="endpointId")
    result: Any = None

    def target(self) -> dict[str, Any]:
        """What a client sends as the target of ``send-channel-message`` (identity, no result/answer)."""
        wire = self.to_wire()
        wire.pop("result", None)
        wire.pop("answer", None)
        return wire


# -------------------------------------------------------------------------------------------------- replies


class AckPayload(WireModel):
    """The payload of an ``ack``: success with optional ``data``, or failure with ``reason`` and ``error``."""

    success: bool
    data: Any = None
    reason: str | None = None
    error: dict[str, Any] | None = None


class AckFrame(WireModel):
    """A reply to one of our requests (``action: "ack"``, ``correlationId`` = our ``messageId``)."""

    action: str
    correlation_id: int = Field(alias="correlationId")
    payload: AckPayload | None = None
    reason: str | None = None


class AckToSenderPayload(WireModel):
    """The reply envelope a channel push carries; we fill in ``payload.result`` or the failure fields."""

    correlation_id: Any = Field(default=None, alias="correlationId")
    destination_token: Any = Field(default=None, alias="destinationToken")
    payload: dict[str, Any] | None = None
    success: bool = True


class AckToSender(WireModel):
    """The ``ackToSender`` of a channel push, sent back raw (without ``messageId``) as our reply.

    Its ``action`` (``send-channel-result`` today) is echoed, never hard-coded.
    """

    action: str
    payload: AckToSenderPayload


# ---------------------------------------------------------------------------------------------- pushes


class ChannelConnectionPayload(WireModel):
    """``process-channel-connection``: a client asks to connect to one of our channels."""

    ack_to_sender: AckToSender = Field(alias="ackToSender")
    provider_identity: ProviderIdentity = Field(alias="providerIdentity")
    client_identity: ClientIdentity = Field(alias="clientIdentity")
    payload: Any = None
    offer: Any = None


class ChannelMessagePayload(WireModel):
    """``process-channel-message``: a channel action dispatched to us (as provider or as client)."""

    ack_to_sender: AckToSender = Field(alias="ackToSender")
    provider_identity: ProviderIdentity = Field(alias="providerIdentity")
    action: str
    sender_identity: ClientIdentity = Field(alias="senderIdentity")
    payload: Any = None
    intended_target_identity: dict[str, Any] = Field(default_factory=dict, alias="intendedTargetIdentity")


class DesktopEvent(WireModel):
    """``process-desktop-event``: an event on a topic (``window``, ``application``, ``channel`` ...)."""

    topic: str
    type: str
    uuid: str | None = None
    name: str | None = None


class IabMessage(WireModel):
    """``process-message``: a message published on the legacy InterApplicationBus."""

    topic: str
    message: Any = None
    source_uuid: str | None = Field(default=None, alias="sourceUuid")
    source_window_name: str | None = Field(default=None, alias="sourceWindowName")


class ExternalAuthorizationResponse(WireModel):
    """Reply to ``request-external-authorization``: write ``token`` into ``file``; ``uuid`` is final."""

    file: str
    token: str
    uuid: str | None = None


class AuthorizationResponse(WireModel):
    """Reply to ``request-authorization``."""

    success: bool
    reason: str | None = None


class PushFrame(WireModel):
    """An uncorrelated frame (no ``correlationId`` key): a push, or one of the two handshake replies."""

    action: str
    payload: dict[str, Any] = Field(default_factory=dict)


class ChannelMessageFrame(WireModel):
    """A ``process-channel-message`` push, envelope and payload validated together (``parse_inbound``)."""

    action: Literal["process-channel-message"]
    payload: ChannelMessagePayload


PUSH_CHANNEL_CONNECTION = "process-channel-connection"
PUSH_CHANNEL_MESSAGE = "process-channel-message"
PUSH_DESKTOP_EVENT = "process-desktop-event"
PUSH_IAB_MESSAGE = "process-message"
EXTERNAL_AUTHORIZATION_RESPONSE = "external-authorization-response"
AUTHORIZATION_RESPONSE = "authorization-response"

Inbound = AckFrame | PushFrame


class FrameRefused(ProtocolError):
    """An inbound frame over a bound (nesting depth, size): not handled, its sender told when it can be.

    ``name`` is the error name the sender gets; ``ack`` is the frame's ``ackToSender`` when it is a channel
    push whose reply envelope could be read, else ``None``.
    """

    def __init__(self, name: str, message: str, ack: AckToSender | None) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.ack = ack


def parse_frame(text: str | bytes, *, max_depth: int | None = None, max_bytes: int | None = None) -> Inbound:
    """Parse one inbound text frame.

    A frame with a ``correlationId`` key is a reply (``AckFrame``); one without is a push (``PushFrame``),
    whose payload the caller parses further with ``parse_push``. Raises ``ProtocolError`` for anything that
    is not a JSON object with a string ``action``.

    A frame longer than ``max_bytes`` or nested more than ``max_depth`` levels (the frame's own object is
    level 1) is refused: a reply to one of our requests becomes a failure ``AckFrame`` (its caller gets the
    error rather than a timeout), a push raises ``FrameRefused``.
    """
    data = _load(text, max_depth=max_depth, max_bytes=max_bytes)
    if isinstance(data, AckFrame):
        return data
    return _envelope(data)


def parse_inbound(
    text: str | bytes, *, max_depth: int | None = None, max_bytes: int | None = None
) -> AckFrame | PushFrame | ChannelMessagePayload:
    """``parse_frame``, with a ``process-channel-message`` push validated in the same pass as its envelope:
    returned as its ``ChannelMessagePayload`` (what ``parse_push`` makes of it). Any other frame, and a
    channel message either model refuses, is returned (or refused) exactly as ``parse_frame`` does, so a
    malformed channel message raises the same ``ProtocolError`` from ``parse_push``."""
    data = _load(text, max_depth=max_depth, max_bytes=max_bytes)
    if isinstance(data, AckFrame):
        return data
    if data.get("action") == PUSH_CHANNEL_MESSAGE and "correlationId" not in data:
        try:
            return ChannelMessageFrame.model_validate(data).payload
        except ValidationError:
            pass  # the two steps below report it as they always have
    return _envelope(data)


def _envelope(data: dict[str, Any]) -> Inbound:
    try:
        if "correlationId" in data:
            return AckFrame.model_validate(data)
        return PushFrame.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(f"Malformed frame: {_summary(exc)}") from exc


def _load(text: str | bytes, *, max_depth: int | None, max_bytes: int | None) -> dict[str, Any] | AckFrame:
    """The frame's JSON object, a failure ``AckFrame`` for a refused reply; raises as ``parse_frame``."""
    try:
        data = jsoncodec.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"Frame is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("Frame is not a JSON object")
    if max_bytes is not None and len(text) > max_bytes:
        refused = ("MessageTooLargeError", f"The message is larger than {max_bytes} bytes")
    elif (
        max_depth is not None
        and jsoncodec.may_be_too_deep(text, max_depth)
        and jsoncodec.too_deep(data, max_depth)
    ):
        refused = ("MessageTooDeepError", f"The message is nested deeper than {max_depth} levels")
    else:
        refused = None
    if refused is not None:
        return _refuse(data, *refused, max_depth=max_depth)
    return data


def _refuse(data: dict[str, Any], name: str, message: str, *, max_depth: int | None) -> AckFrame:
    correlation_id = data.get("correlationId")
    if "correlationId" in data and type(correlation_id) is int:
        reason = f"{name}: {message}"
        failure = AckPayload(
            success=False, reason=reason, error={"name": name, "message": message, "stack": reason}
        )
        return AckFrame(action="ack", correlation_id=correlation_id, payload=failure)
    raise FrameRefused(name, message, _reply_envelope(data, max_depth))


def _reply_envelope(data: dict[str, Any], max_depth: int | None) -> AckToSender | None:
    payload = data.get("payload")
    ack = payload.get("ackToSender") if isinstance(payload, dict) else None
    # The envelope is sent back as it came: one nested too deeply would fail again on its way out.
    if not isinstance(ack, dict) or (max_depth is not None and jsoncodec.too_deep(ack, max_depth)):
        return None
    try:
        return AckToSender.model_validate(ack)
    except ValidationError:
        return None


_PUSH_MODELS: dict[str, type[WireModel]] = {
    PUSH_CHANNEL_CONNECTION: ChannelConnectionPayload,
    PUSH_CHANNEL_MESSAGE: ChannelMessagePayload,
    PUSH_DESKTOP_EVENT: DesktopEvent,
    PUSH_IAB_MESSAGE: IabMessage,
    EXTERNAL_AUTHORIZATION_RESPONSE: ExternalAuthorizationResponse,
    AUTHORIZATION_RESPONSE: AuthorizationResponse,
}


def parse_push(frame: PushFrame) -> WireModel | None:
    """The typed payload of a push we handle, ``None`` for a push action we do not know.

    Raises ``ProtocolError`` when a known push has a malformed payload.
    """
    model = _PUSH_MODELS.get(frame.action)
    if model is None:
        return None
    try:
        return model.model_validate(frame.payload)
    except ValidationError as exc:
        raise ProtocolError(f"Malformed {frame.action}: {_summary(exc)}") from exc


def _summary(exc: ValidationError) -> str:
    # Only locations and messages: inputs may hold tokens or user data.
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
    )


# --------------------------------------------------------------------------------------- outbound frames


def encode(frame: Any) -> str:
    """``frame`` as the text of one websocket message: compact JSON in UTF-8 text, as node-adapter writes
    it (``adapter.jsoncodec``); ``TypeError``/``ValueError`` when it has no JSON form."""
    return jsoncodec.dumps(frame)


def request_frame(action: str, payload: dict[str, Any] | None, message_id: int) -> dict[str, Any]:
    """A request ``{action, payload, messageId}``; the runtime answers with an ``ack`` for that id."""
    return {"action": action, "payload": payload if payload is not None else {}, "messageId": message_id}


def encode_request(action: str, payload_json: str, message_id: int) -> str:
    """``encode(request_frame(...))`` around a payload that is already JSON text, so that a payload sent to
    many clients is encoded once, not once per client."""
    return f'{{"action":{encode(action)},"payload":{payload_json},"messageId":{message_id}}}'


def encode_channel_message(
    target_json: str, provider_json: str, action: str, payload_json: str | None
) -> str:
    """The payload of ``send-channel-message`` from encoded parts: the target client's identity (a JSON
    object, see ``encode_target``), our ``providerIdentity``, the ``action`` and, unless ``None``, the
    ``payload``. Equal to encoding ``{**target, "providerIdentity": ..., "action": ..., "payload": ...}``.
    """
    members = target_json[1:-1]
    head = f"{{{members}," if members else "{"
    body = f'{head}"providerIdentity":{provider_json},"action":{encode(action)}'
    if payload_json is None:
        return body + "}"
    return f'{body},"payload":{payload_json}}}'


_CHANNEL_MESSAGE_KEYS = ("providerIdentity", "action", "payload")


def encode_target(client: ClientIdentity) -> str:
    """``client`` as the target of a ``send-channel-message`` we send as provider (JSON text).

    ``isLocalEndpointId`` is node-adapter's own bookkeeping, not part of the identity; keys the message
    sets itself are left to the message.
    """
    target = client.to_wire()
    target.pop("isLocalEndpointId", None)
    for key in _CHANNEL_MESSAGE_KEYS:
        target.pop(key, None)
    return encode(target)


def external_authorization_request(uuid: str, message_id: int) -> dict[str, Any]:
    """First frame of the file-token handshake."""
    return request_frame("request-external-authorization", {"uuid": uuid, "type": "file-token"}, message_id)


def authorization_request(uuid: str, message_id: int, *, token: str | None) -> dict[str, Any]:
    """``request-authorization``: file-token flavour (``type: file-token``) or sponsored flavour (``token``).

    ``name == uuid`` because the runtime names an external connection after its uuid anyway, and
    ``nonPersistent`` so that our process never keeps a runtime alive on its own.
    """
    payload: dict[str, Any] = {"uuid": uuid, "name": uuid, "nonPersistent": True}
    if token is None:
        payload["type"] = "file-token"
    else:
        payload["token"] = token
    return request_frame("request-authorization", payload, message_id)


def success_reply(ack: AckToSender, result: Any) -> dict[str, Any]:
    """The raw reply to a channel push: the ``ackToSender`` with ``payload.payload.result`` set.

    A ``None`` result is left out, as JavaScript's ``undefined`` vanishes from JSON. ``to_wire`` builds
    fresh containers, so the reply never shares (and never alters) the ack's.
    """
    reply = ack.to_wire()
    body = reply["payload"]
    inner = body.get("payload")
    if not isinstance(inner, dict):
        inner = {}
    if result is not None:
        inner["result"] = result
    body["payload"] = inner
    body["success"] = True
    return reply


def success_reply_text(ack: AckToSender, result_json: str | None) -> str:
    """``encode(success_reply(ack, result))`` around a result that is already JSON text (``None``: no
    result), so that a result is encoded once, straight from its model, rather than dumped to dicts first.

    The reply's ``payload`` and its ``payload`` are written last, so the encoded envelope ends with the
    inner object's closing brace and the two around it: the result goes in just before them.
    """
    reply = ack.to_wire()
    body = reply.pop("payload")
    inner = body.pop("payload", None)
    if not isinstance(inner, dict):
        inner = {}
    inner.pop("result", None)
    body.pop("success", None)
    body["success"] = True
    body["payload"] = inner
    reply["payload"] = body
    text = encode(reply)
    if result_json is None:
        return text
    separator = "," if inner else ""
    return f'{text[:-3]}{separator}"result":{result_json}}}}}}}'


def failure_reply(ack: AckToSender, reason: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
    """The raw reply failing a channel push with ``reason`` (and ``error`` when given)."""
    reply = ack.to_wire()
    body = reply["payload"]
    body["success"] = False
    body["reason"] = reason
    if error is not None:
        body["error"] = error
    return reply


ChannelTarget = Literal["provider", "client"]


def channel_message_target(message: ChannelMessagePayload) -> tuple[ChannelTarget, str] | None:
    """Who a ``process-channel-message`` is for: our provider (by channelId) or our client (by endpointId).

    ``intendedTargetIdentity`` decides: ``channelId`` means the provider, else ``endpointId`` means a client.
    """
    target = message.intended_target_identity
    channel_id = target.get("channelId")
    if isinstance(channel_id, str):
        return "provider", channel_id
    endpoint_id = target.get("endpointId")
    if isinstance(endpoint_id, str):
        return "client", endpoint_id
    return None
