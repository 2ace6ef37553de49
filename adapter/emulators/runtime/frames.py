"""Frames of the runtime websocket protocol: parsing what clients send, building what the runtime sends.

docs/emulators/runtime.md, "Framing". A client request is ``{action, payload, messageId}``; the runtime
answers with ``ack`` frames correlated by ``correlationId`` (a failure is still ``action: "ack"`` with
``success: false``) and pushes other frames with no ``correlationId`` key at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapter import jsoncodec

Frame = dict[str, Any]

# Actions whose payloads carry application messages; their payloads are masked in the frame log (CORE masks
# publish-message and send-message; channel traffic carries the same kind of data).
MESSAGE_ACTIONS = frozenset(
    {
        "publish-message",
        "send-message",
        "process-message",
        "send-channel-message",
        "process-channel-message",
        "send-channel-result",
    }
)
MASKED = "[MASKED]"


class FrameError(ValueError):
    """A client frame that is not a protocol message (not JSON, not an object, no action)."""

    def __init__(self, reason: str, message_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_id = message_id


class ClientFrameModel(BaseModel):
    """What a client frame must look like: a request (with ``messageId``) or a raw relay."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    action: str = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)
    message_id: int | None = Field(default=None, alias="messageId")


@dataclass(slots=True)
class ClientFrame:
    """A valid client frame: its action, its payload object, its ``messageId`` (``None`` for raw relays)."""

    action: str
    payload: dict[str, Any]
    message_id: int | None
    raw: Frame
    """The frame as received (for the debug log)."""


def client_frame(raw: Frame) -> ClientFrame:
    """Check one decoded frame against `ClientFrameModel`; raises ``ValidationError`` when it does not fit.

    The model would only copy a frame that already has the exact JSON types (a non-empty string action, an
    object payload or none, an integer messageId or none), so such frames, all that node-adapter sends,
    skip it; anything else goes through the model, which coerces or refuses it as before.
    """
    action, payload, message_id = raw.get("action"), raw.get("payload", _NO_PAYLOAD), raw.get("messageId")
    if (
        type(action) is str
        and action
        and (payload is _NO_PAYLOAD or type(payload) is dict)
        and (message_id is None or type(message_id) is int)
    ):
        return ClientFrame(action, {} if payload is _NO_PAYLOAD else payload, message_id, raw)
    model = ClientFrameModel.model_validate(raw)
    return ClientFrame(model.action, model.payload, model.message_id, raw)


_NO_PAYLOAD: Any = object()


def parse_client_frame(text: str | bytes) -> ClientFrame:
    """Parse one websocket text frame; raises ``FrameError`` with a readable reason when it is malformed."""
    try:
        raw = jsoncodec.loads(text)
    except ValueError as exc:
        raise FrameError(f"Frame is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise FrameError("Frame must be a JSON object")
    message_id = raw.get("messageId")
    correlatable = message_id if isinstance(message_id, int) and not isinstance(message_id, bool) else None
    if raw.get("payload") is None:
        raw.pop("payload", None)
    try:
        return client_frame(raw)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
        raise FrameError(f"Invalid message: bad or missing {fields}", correlatable) from None


def ack(correlation_id: int, data: Any = None) -> Frame:
    """A success reply; ``data`` is left out for void calls."""
    payload: dict[str, Any] = {"success": True}
    if data is not None:
        payload["data"] = data
    return {"action": "ack", "correlationId": correlation_id, "payload": payload}


def nack(correlation_id: int, reason: str, error: dict[str, Any] | None = None) -> Frame:
    """A failure reply: still ``action: "ack"``, marked only by ``success: false``."""
    payload: dict[str, Any] = {"success": False, "reason": reason}
    if error is not None:
        payload["error"] = error
    return {"action": "ack", "correlationId": correlation_id, "payload": payload}


def push(action: str, payload: dict[str, Any]) -> Frame:
    """An uncorrelated frame: no ``correlationId`` key at all (node-adapter routes on its absence)."""
    return {"action": action, "payload": payload}


# URL fields whose query strings may carry OAuth codes and state (url-changed of an auth window).
URL_FIELDS = ("url", "validatedURL")


def loggable(frame: Frame) -> Frame:
    """A copy of ``frame`` fit for the debug log.

    Payloads of message actions are masked, and so are the query strings of URLs (an OAuth redirect carries
    the authorization code there).
    """
    if frame.get("action") in MESSAGE_ACTIONS:
        return {**frame, "payload": MASKED}
    payload = frame.get("payload")
    if isinstance(payload, dict) and any(isinstance(payload.get(k), str) for k in URL_FIELDS):
        masked = {
            k: _mask_query(v) if k in URL_FIELDS and isinstance(v, str) else v for k, v in payload.items()
        }
        return {**frame, "payload": masked}
    return frame


def _mask_query(url: str) -> str:
    base, sep, _ = url.partition("?")
    return f"{base}?{MASKED}" if sep else url
