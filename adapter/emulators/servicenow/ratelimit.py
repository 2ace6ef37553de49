"""Inbound REST rate limiting as ``sys_rate_limit_rules`` does it: requests per user per hour.

One all-users rule with a configurable limit (``None``: no rule, the default). Windows are clock hours of the
emulator's ``Clock``. While a rule applies, every ``/api/`` response carries ``X-RateLimit-Limit``,
``X-RateLimit-Reset`` and ``X-RateLimit-Rule``; a request over the limit gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.envelope import error_response
from adapter.emulators.servicenow.identity import Caller

log = structlog.get_logger(__name__)

WINDOW = 3600
RULE_SYS_ID = "3f1dd0c1c0a8016401a8d1ba5d1e7e3a"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of counting one request."""

    allowed: bool
    limit: int
    reset_at: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers (plus ``Retry-After`` when refused)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Reset": str(self.reset_at),
            "X-RateLimit-Rule": RULE_SYS_ID,
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


@dataclass
class RateLimiter:
    """Counts requests per user in fixed hourly windows; ``limit_per_hour=None`` disables the rule."""

    clock: Clock
    limit_per_hour: int | None = None
    _counts: dict[str, int] = field(default_factory=dict)
    _window: int = -1

    def set_limit(self, limit_per_hour: int | None) -> None:
        """Change the rule (counts of the current window are kept)."""
        if limit_per_hour is not None and limit_per_hour < 1:
            raise ValueError("limit_per_hour must be at least 1 (or None for no limit)")
        self.limit_per_hour = limit_per_hour

    def forget_counts(self) -> None:
        """Start counting afresh."""
        self._counts.clear()
        self._window = -1

    def check(self, user_name: str) -> Verdict | None:
        """Count a request of ``user_name``; ``None`` when no rule applies."""
        if self.limit_per_hour is None:
            return None
        now = self.clock.timestamp()
        window = int(now // WINDOW)
        if window != self._window:
            self._window = window
            self._counts.clear()
        reset_at = (window + 1) * WINDOW
        used = self._counts.get(user_name, 0)
        if used >= self.limit_per_hour:
            return Verdict(False, self.limit_per_hour, reset_at, max(math.ceil(reset_at - now), 1))
        self._counts[user_name] = used + 1
        return Verdict(True, self.limit_per_hour, reset_at, 0)


def api_name(path: str) -> str:
    """The REST API a path belongs to, as rate-limit messages name it."""
    if "/table/" in path:
        return "Table API"
    if path.startswith("/api/x_opfi_openfin/"):
        return "OpenFin Integration"
    return "REST API"


class RateLimitMiddleware:
    """Applies the limiter to authenticated ``/api/`` requests (after the authentication middleware)."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = scope.get("state", {}).get("caller") if scope["type"] == "http" else None
        if not isinstance(caller, Caller):
            await self.app(scope, receive, send)
            return
        verdict = self.limiter.check(caller.user_name)
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            log.info("ratelimit.refused", user=caller.user_name, retry_after=verdict.retry_after)
            detail = f"Rate limit of {verdict.limit} requests per hour for {api_name(scope['path'])} exceeded"
            response = error_response(429, "Rate limit exceeded", detail, headers=verdict.headers())
            await response(scope, receive, send)
            return
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in verdict.headers().items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
