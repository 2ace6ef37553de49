"""What the instance received: counts for ``/__emulator/stats`` (how many requests each ``<METHOD> <path>``
received) and the recent requests themselves for ``/__emulator/wire`` (what two clients put on the wire)."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.emulators.servicenow.faults import HOOK_PREFIX

WIRE_ENTRIES = 200
WIRE_BODY_BYTES = 64 * 1024


@dataclass
class RequestStats:
    """Counts every request to the ServiceNow URL space (the hooks themselves are not counted) and keeps the
    last ``WIRE_ENTRIES`` of them as they arrived."""

    requests: Counter[str] = field(default_factory=Counter)
    wire: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=WIRE_ENTRIES))

    def count(self, method: str, path: str) -> None:
        """Record one request; the query string is not part of ``path``."""
        if not path.startswith(HOOK_PREFIX):
            self.requests[f"{method} {path}"] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """The hook's JSON body."""
        return {"requests": dict(self.requests)}

    def reset(self) -> None:
        """Forget every count and every recorded request."""
        self.requests.clear()
        self.wire.clear()

    def record(self, scope: Scope) -> dict[str, Any] | None:
        """Keep a request as it arrived: method, target, headers (an Authorization value reduced to its
        scheme, so no credential is kept) and, as it is read, the first ``WIRE_BODY_BYTES`` of its body."""
        if scope["path"].startswith(HOOK_PREFIX):
            return None
        headers: list[list[str]] = []
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == "authorization":
                value = value.split(" ", 1)[0]
            headers.append([name, value])
        target = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        entry: dict[str, Any] = {
            "method": scope["method"],
            "target": (target + (b"?" + query if query else b"")).decode("latin-1"),
            "headers": headers,
            "body": "",
        }
        self.wire.append(entry)
        return entry

    def wire_snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """The ``/__emulator/wire`` body: the recorded requests, oldest first."""
        return {"requests": list(self.wire)}


class StatsMiddleware:
    """Outermost middleware: counts a request as it arrives, whatever happens to it next."""

    def __init__(self, app: ASGIApp, *, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.stats.count(scope["method"], scope["path"])
        entry = self.stats.record(scope)
        if entry is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, _RecordingReceive(receive, entry).receive, send)


class _RecordingReceive:
    """Wraps ``receive`` to copy the first ``WIRE_BODY_BYTES`` of the body into a wire entry.

    Its ``receive`` is a bound method whose object carries the server's ``transport``, as uvicorn's own
    ``receive`` does: fault injection finds the socket to drop there (``faults.drop_connection``).
    """

    def __init__(self, receive: Receive, entry: dict[str, Any]) -> None:
        self._receive = receive
        self._entry = entry
        self._body = bytearray()
        self.transport = getattr(getattr(receive, "__self__", None), "transport", None)

    async def receive(self) -> Message:
        """The next ASGI message, its body bytes recorded."""
        message = await self._receive()
        if message["type"] == "http.request" and len(self._body) < WIRE_BODY_BYTES:
            self._body.extend(message.get("body", b"")[: WIRE_BODY_BYTES - len(self._body)])
            self._entry["body"] = self._body.decode("utf-8", errors="replace")
        return message
