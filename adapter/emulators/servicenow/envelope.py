"""ServiceNow JSON envelopes: `{"result": ...}` on success, `{"error": ..., "status": "failure"}` on error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

CONTENT_TYPE = "application/json;charset=UTF-8"


def result_response(
    result: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A success response with the instance's content type."""
    return JSONResponse({"result": result}, status_code=status_code, headers=headers, media_type=CONTENT_TYPE)


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
