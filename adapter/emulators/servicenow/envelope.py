"""ServiceNow JSON envelopes: `{"result": ...}` on success, `{"error": ..., "status": "failure"}` on error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import JSONResponse

CONTENT_TYPE = "application/json;charset=UTF-8"
# Starlette's JSONResponse encoding, with one encoder made once instead of one per response.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class InstanceJSONResponse(JSONResponse):
    """A JSON response encoded exactly as Starlette's ``JSONResponse`` encodes it."""

    def render(self, content: Any) -> bytes:
        """The compact UTF-8 JSON of ``content``.

        orjson writes the same bytes for what the APIs answer (strings, dicts, lists, bools, ints, None) in a
        fifth of the time; what it refuses (text that is not UTF-8, non-string keys, big integers) goes to the
        standard encoder, which then fails or succeeds exactly as Starlette's would. Floats, which the two
        format differently, never occur in an answer.
        """
        try:
            return orjson.dumps(content)
        except TypeError:
            return _ENCODER.encode(content).encode("utf-8")


def result_response(
    result: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A success response with the instance's content type."""
    return InstanceJSONResponse(
        {"result": result}, status_code=status_code, headers=headers, media_type=CONTENT_TYPE
    )


def error_response(
    status_code: int, message: str, detail: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A failure response shaped as an instance shapes it (``detail`` is ``null`` when there is none)."""
    return JSONResponse(
        {"error": {"message": message, "detail": detail}, "status": "failure"},
        status_code=status_code,
        headers=headers,
        media_type=CONTENT_TYPE,
    )
