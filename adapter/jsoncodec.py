"""JSON on the hot paths (bus frames, API bodies): orjson, with the standard library where orjson refuses.

Every request through the adapter decodes a frame and a ServiceNow body and encodes a reply frame, so the
codec's cost is paid on every request (figures in docs/performance.md). Where orjson refuses (``NaN`` in text,
non-string keys, integers past 64 bits to encode) the standard library takes over, so nothing that parsed or
encoded before fails now. What differs is what JavaScript does too: text is written as UTF-8 rather than
``\\u`` escapes, NaN is written as ``null`` and integers past 64 bits are read as floats.

Nesting is bounded in both directions, since the standard library recurses on the C stack: orjson reads at
most 1 024 levels and writes at most 253; anything deeper is ``NestingError`` (a ``ValueError``), never a
``RecursionError`` that would end the task reading a socket. ``too_deep`` checks a tighter bound.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# ASCII with escapes: the fallback also serves text orjson refuses (a lone surrogate read from a
# ``\\ud800`` escape), which only an escape can carry to a UTF-8 socket.
_fallback_encode = json.JSONEncoder(separators=(",", ":")).encode

_DEPTH_REFUSALS = ("depth limit exceeded", "Recursion limit reached")


class NestingError(ValueError):
    """JSON nested deeper than the codec (or the caller's bound) accepts."""


def loads(data: str | bytes) -> Any:
    """Parse JSON text; ``ValueError`` (``json.JSONDecodeError``, ``NestingError``) when it is not JSON
    or is nested deeper than 1 024 levels."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if str(error).startswith(_DEPTH_REFUSALS):
            raise NestingError("JSON is nested deeper than 1024 levels") from None
        try:
            return json.loads(data)
        except RecursionError:
            raise NestingError("JSON is nested too deeply") from None


def dumps(value: Any) -> str:
    """Compact JSON text of ``value``; ``TypeError``/``ValueError`` when it has no JSON form,
    ``NestingError`` when it is nested too deeply to write."""
    return dumps_bytes(value).decode()


def dumps_bytes(value: Any) -> bytes:
    """``dumps`` as UTF-8 bytes (request bodies)."""
    try:
        return orjson.dumps(value)
    except TypeError as error:
        if str(error) in _DEPTH_REFUSALS:
            raise NestingError("JSON is nested deeper than 253 levels") from None
        try:
            return _fallback_encode(value).encode()
        except RecursionError:
            raise NestingError("JSON is nested too deeply") from None


def may_be_too_deep(text: str | bytes, limit: int) -> bool:
    """Whether the JSON ``text`` could nest more than ``limit`` levels: ``False`` when it holds no more than
    ``limit`` opening brackets in all, since every level opens with one (brackets inside strings only add
    to the count). A quick test in C before ``too_deep`` walks the parsed value in Python."""
    if isinstance(text, str):
        return text.count("{") + text.count("[") > limit
    return text.count(b"{") + text.count(b"[") > limit


def too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` (parsed JSON) nests objects and arrays more than ``limit`` levels deep.

    Iterative, so that any depth is measured without recursing; the top-level container is level 1.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if type(node) is dict:
            children: Any = node.values()
        elif type(node) is list:
            children = node
        else:
            continue
        if depth > limit:
            return True
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False
