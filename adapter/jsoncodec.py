"""JSON on the hot paths (bus frames, API bodies): orjson, with the standard library where orjson refuses.

Every request through the adapter decodes a frame and a ServiceNow body and encodes a reply frame; with the
standard library that was about 60 us of CPU per 2 KB record, with orjson 13 us (docs/performance.md). Where
orjson refuses (``NaN`` in text, non-string keys, integers past 64 bits to encode) the standard library takes
over, so nothing that parsed or encoded before fails now. What differs is what JavaScript does too: text is
written as UTF-8 rather than ``\\u`` escapes, NaN is written as ``null`` and integers past 64 bits are read
as floats.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# ASCII with escapes: the fallback also serves text orjson refuses (a lone surrogate read from a
# ``\\ud800`` escape), which only an escape can carry to a UTF-8 socket.
_fallback_encode = json.JSONEncoder(separators=(",", ":")).encode


class NestingError(ValueError):
    """JSON nested deeper than the standard library can follow on Python's stack."""

    def __init__(self) -> None:
        super().__init__("JSON nested too deeply")


def loads(data: str | bytes) -> Any:
    """Parse JSON text; ``ValueError`` (``json.JSONDecodeError``, ``NestingError``) when it is not JSON or is
    nested too deeply for any reader (orjson stops at 1 024 levels; the fallback would overflow the stack)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return json.loads(data)
        except RecursionError:
            raise NestingError() from None


def dumps(value: Any) -> str:
    """Compact JSON text of ``value``; ``TypeError``/``ValueError`` when it has no JSON form (or is nested too
    deeply to write)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _fallback(value)


def dumps_bytes(value: Any) -> bytes:
    """``dumps`` as UTF-8 bytes (request bodies)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return _fallback(value).encode()


def _fallback(value: Any) -> str:
    try:
        return _fallback_encode(value)
    except RecursionError:
        raise NestingError() from None
