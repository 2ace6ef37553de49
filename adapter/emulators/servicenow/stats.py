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


@dataclass(slots=True)
class WireEntry:
    """One request as it arrived, kept raw; turned into JSON only when the hook is read."""

    method: str
    target: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytearray = field(default_factory=bytearray)

    def to_json(self) -> dict[str, Any]:
        """``{method, target, headers, body}``; an Authorization value is cut to its scheme."""
        headers: list[list[str]] = []
        for raw_name, raw_value in self.headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == "authorization":
                value = value.split(" ", 1)[0]
            headers.append([name, value])
        target = self.target + (b"?" + self.query if self.query else b"")
        return {
            "method": self.method,
            "target": target.decode("latin-1"),
            "headers": headers,
            "body": self.body.decode("utf-8", errors="replace"),
        }


@dataclass
class RequestStats:
    """Counts every request to the ServiceNow URL space (the hooks themselves are not counted) and keeps the
    last ``WIRE_ENTRIES`` of them as they arrived."""

    requests: Counter[str] = field(default_factory=Counter)
    wire: deque[WireEntry] = field(default_factory=lambda: deque(maxlen=WIRE_ENTRIES))

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

    def record(self, scope: Scope) -> WireEntry | None:
        """Keep a request as it arrived (method, target, headers; its body is added as it is read).

        Kept raw, since every request passes here and the hook is rarely read.
        """
        if scope["path"].startswith(HOOK_PREFIX):
            return None
        entry = WireEntry(
            scope["method"],
            scope.get("raw_path") or scope["path"].encode(),
            scope.get("query_string") or b"",
            list(scope["headers"]),
        )
        self.wire.append(entry)
        return entry

    def wire_snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """The ``/__emulator/wire`` body: the recorded requests, oldest first."""
        return {"requests": [entry.to_json() for entry in self.wire]}


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

    def __init__(self, receive: Receive, entry: WireEntry) -> None:
        self._receive = receive
        self._body = entry.body
        self.transport = getattr(getattr(receive, "__self__", None), "transport", None)

    async def receive(self) -> Message:
        """The next ASGI message, its body bytes recorded."""
        message = await self._receive()
        if message["type"] == "http.request" and len(self._body) < WIRE_BODY_BYTES:
            self._body.extend(message.get("body", b"")[: WIRE_BODY_BYTES - len(self._body)])
        return message
