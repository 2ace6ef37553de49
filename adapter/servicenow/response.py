"""Turning an instance's HTTP answer into the official response shape or the official error, purely.

Success: ``{status, data?, type?}`` where ``data`` is the body parsed by its Content-Type, with the ServiceNow
``{"result": ...}`` envelope removed, and ``type`` the raw Content-Type; both only when the body is
"truthy" in the JavaScript sense the official package uses (``[]`` and ``{}`` count, ``""`` and ``null`` not).
Failure: ``ApiRequestError`` with the HTTP status, the instance's ``error.message`` and ``error.detail``, and
(as the official package's ``error.data``) the whole JSON error body.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict

from adapter import jsoncodec
from adapter.servicenow.errors import ApiRequestError

FAILED_REQUEST = "Failed to execute API request"
BROKEN_JSON = "The instance answered with malformed JSON"

_TEXT_MARKERS = ("xml", "vnd.openxmlformats", "svg")


class ApiResponse(BaseModel):
    """The official ``ServiceNowRestApiResponse``: ``status``, and ``data``/``type`` for a body.

    A binary body (neither JSON, form nor text) is given as a base64 string, since it must cross a JSON bus.
    """

    model_config = ConfigDict(frozen=True)

    status: int
    data: Any = None
    type: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The response as apps receive it: absent ``data``/``type`` left out (official).

        Built by hand rather than by ``model_dump``, which would copy the whole record on every request.
        """
        wire: dict[str, Any] = {"status": self.status}
        if self.data is not None:
            wire["data"] = self.data
        if self.type is not None:
            wire["type"] = self.type
        return wire


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness for JSON values: objects and arrays are truthy even when empty."""
    if isinstance(value, dict | list):
        return True
    return bool(value)


def parse_body(content_type: str | None, body: bytes) -> Any:
    """The body as the official package reads it: JSON, form fields, text or (base64) bytes; None if empty."""
    if not content_type or not body:
        return None
    if _is_json(content_type):
        try:
            return jsoncodec.loads(body)
        except ValueError:
            return body.decode("utf-8", errors="replace")
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    if media.startswith(("text/", "multipart/")) or any(m in media for m in _TEXT_MARKERS):
        return body.decode(_charset(content_type), errors="replace")
    return base64.b64encode(body).decode("ascii")


def success_response(status: int, content_type: str | None, body: bytes) -> ApiResponse:
    """The official success shape of a 2xx answer, with ``result`` unwrapped when it is truthy.

    A body declared as JSON that does not parse (truncated, garbled) is ``ApiRequestError``: the official
    package's ``response.json()`` throws there, so apps must get an error rather than text.
    """
    if content_type and body and _is_json(content_type):
        try:
            data = jsoncodec.loads(body)
        except ValueError:
            raise ApiRequestError(BROKEN_JSON, status=status) from None
    else:
        data = parse_body(content_type, body)
    if not js_truthy(data):
        return ApiResponse(status=status)
    if isinstance(data, dict) and js_truthy(data.get("result")):
        data = data["result"]
    return ApiResponse(status=status, data=data, type=content_type)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def error_from_response(status: int, content_type: str | None, body: bytes) -> ApiRequestError:
    """``ApiRequestError`` for a non-2xx answer, with the instance's ``error.message``/``detail`` and body."""
    message: str | None = None
    detail: Any = None
    parsed: Any = None
    if content_type and "application/json" in content_type.lower():
        parsed = parse_body("application/json", body)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict):
            raw_message = error.get("message")
            message = raw_message if isinstance(raw_message, str) and raw_message else None
            detail = error.get("detail")
    return ApiRequestError(message or FAILED_REQUEST, status=status, detail=detail, data=parsed)


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            candidate = value.strip('"')
            try:
                "".encode(candidate)
            except LookupError:
                return "utf-8"
            return candidate
    return "utf-8"
