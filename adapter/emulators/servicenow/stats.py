"""Request counters for ``/__emulator/stats``: how many requests each ``<METHOD> <path>`` received."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from adapter.emulators.servicenow.faults import HOOK_PREFIX


@dataclass
class RequestStats:
    """Counts every request to the ServiceNow URL space (the hooks themselves are not counted)."""

    requests: Counter[str] = field(default_factory=Counter)

    def count(self, method: str, path: str) -> None:
        """Record one request; the query string is not part of ``path``."""
        if not path.startswith(HOOK_PREFIX):
            self.requests[f"{method} {path}"] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """The hook's JSON body."""
        return {"requests": dict(self.requests)}

    def reset(self) -> None:
        """Forget every count."""
        self.requests.clear()


class StatsMiddleware:
    """Outermost middleware: counts a request as it arrives, whatever happens to it next."""

    def __init__(self, app: ASGIApp, *, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.stats.count(scope["method"], scope["path"])
        await self.app(scope, receive, send)
