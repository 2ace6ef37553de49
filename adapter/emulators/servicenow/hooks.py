"""Test hooks under ``/__emulator/``, outside the ServiceNow URL space (docs/emulators.md):
request counts, recent requests, live tokens, fault rules, the clock and the rate-limit rule."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.faults import FaultPlan, FaultRule
from adapter.emulators.servicenow.ratelimit import RateLimiter
from adapter.emulators.servicenow.stats import RequestStats
from adapter.emulators.servicenow.tokens import TokenRegistry

PREFIX = "/__emulator"
_RULES = TypeAdapter(list[FaultRule] | FaultRule)


class ClockChange(BaseModel):
    """``POST /__emulator/clock`` body."""

    model_config = ConfigDict(extra="forbid")
    advance: float = Field(allow_inf_nan=False, description="seconds to move the clock (negative: back)")


class RateLimitChange(BaseModel):
    """``POST /__emulator/rate-limit`` body."""

    model_config = ConfigDict(extra="forbid")
    limit_per_hour: int | None = Field(ge=1, description="requests per user per hour; null removes the rule")


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from None


class EmulatorHooks:
    """The hook endpoints over the emulator's state objects."""

    def __init__(
        self,
        *,
        clock: Clock,
        tokens: TokenRegistry,
        faults: FaultPlan,
        stats: RequestStats,
        limiter: RateLimiter,
    ) -> None:
        self._clock = clock
        self._tokens = tokens
        self._faults = faults
        self._stats = stats
        self._limiter = limiter
        self._initial_limit = limiter.limit_per_hour

    def routes(self) -> list[BaseRoute]:
        """Starlette routes under ``/__emulator``."""
        return [
            Route(f"{PREFIX}/stats", self.stats, methods=["GET", "DELETE"]),
            Route(f"{PREFIX}/wire", self.wire, methods=["GET", "DELETE"]),
            Route(f"{PREFIX}/tokens", self.tokens, methods=["GET"]),
            Route(f"{PREFIX}/faults", self.faults, methods=["GET", "POST", "DELETE"]),
            Route(f"{PREFIX}/clock", self.clock, methods=["GET", "POST"]),
            Route(f"{PREFIX}/rate-limit", self.rate_limit, methods=["GET", "POST"]),
            Route(f"{PREFIX}/reset", self.reset, methods=["POST"]),
        ]

    async def stats(self, request: Request) -> Response:
        """GET: ``{"requests": {"<METHOD> <path>": count}}``; DELETE resets the counts."""
        if request.method == "DELETE":
            self._stats.reset()
        return JSONResponse(self._stats.snapshot())

    async def wire(self, request: Request) -> Response:
        """GET: ``{"requests": [{method, target, headers, body}]}``, the last requests as they arrived (an
        Authorization header shows only its scheme); DELETE forgets them."""
        if request.method == "DELETE":
            self._stats.wire.clear()
        return JSONResponse(self._stats.wire_snapshot())

    async def tokens(self, request: Request) -> Response:
        """Live access and refresh tokens, oldest first."""
        return JSONResponse(self._tokens.live_tokens())

    async def faults(self, request: Request) -> Response:
        """POST adds rules (a list or one object), DELETE clears them, GET lists those still active."""
        if request.method == "POST":
            try:
                parsed = _RULES.validate_python(await _json(request))
            except (ValueError, ValidationError) as exc:
                return _bad_request(str(exc))
            self._faults.add(parsed if isinstance(parsed, list) else [parsed])
        elif request.method == "DELETE":
            self._faults.clear()
        return JSONResponse({"faults": [rule.model_dump() for rule in self._faults.active()]})

    async def clock(self, request: Request) -> Response:
        """POST ``{"advance": seconds}`` moves the clock; both methods answer with the offset and the time."""
        if request.method == "POST":
            try:
                change = ClockChange.model_validate(await _json(request))
            except (ValueError, ValidationError) as exc:
                return _bad_request(str(exc))
            self._clock.advance(change.advance)
        return JSONResponse({"offset": self._clock.offset, "now": self._clock.now().isoformat()})

    async def rate_limit(self, request: Request) -> Response:
        """POST ``{"limit_per_hour": n | null}`` sets the all-users rule; both methods answer with it."""
        if request.method == "POST":
            try:
                change = RateLimitChange.model_validate(await _json(request))
            except (ValueError, ValidationError) as exc:
                return _bad_request(str(exc))
            self._limiter.set_limit(change.limit_per_hour)
        return JSONResponse({"limit_per_hour": self._limiter.limit_per_hour})

    async def reset(self, request: Request) -> Response:
        """Back to the state after start-up, records aside: no tokens, codes, faults or counts, the clock at
        wall time and the rate limit as configured. Lets one emulator serve many independent tests."""
        self._tokens.forget_all()
        self._faults.clear()
        self._stats.reset()
        self._clock.advance(-self._clock.offset)
        self._limiter.set_limit(self._initial_limit)
        self._limiter.forget_counts()
        return JSONResponse({"reset": True})
