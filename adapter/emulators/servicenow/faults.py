"""Fault injection: rules set through ``POST /__emulator/faults`` that make matching requests misbehave
the way instances and networks do (latency, 429/500/502/503, dropped connections, malformed or slow bodies).

A rule matches on method and path prefix, applies to the next ``times`` matching requests (every one when
``times`` is omitted), and the first matching rule wins. ``/__emulator/*`` is never affected.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Literal, Self

import structlog
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.emulators.servicenow import login_page
from adapter.emulators.servicenow.envelope import CONTENT_TYPE, error_response

log = structlog.get_logger(__name__)

HOOK_PREFIX = "/__emulator"
SLOW_BODY_CHUNKS = 5
SERVER_ERROR = (
    "Transaction cancelled: maximum execution time exceeded",
    "Check logs for error trace or enable glide.rest.debug property to verify REST request processing",
)


class FaultRule(BaseModel):
    """One fault. ``latency_ms`` combines with any one of the other effects (or stands alone)."""

    model_config = ConfigDict(extra="forbid")

    method: str | None = Field(default=None, description="HTTP method to match (any when omitted)")
    path: str = Field(default="/", description="path prefix to match")
    times: int | None = Field(default=None, ge=1, description="how many matching requests (all when omitted)")
    latency_ms: int = Field(default=0, ge=0, le=120_000, description="delay before anything else happens")
    status: Literal[429, 500, 502, 503] | None = Field(default=None, description="answer with this status")
    retry_after: int = Field(default=1, ge=0, description="Retry-After seconds of a 429")
    drop: Literal["before", "after"] | None = Field(
        default=None, description="close the connection without a response, before or after the instance acts"
    )
    malformed_json: bool = Field(default=False, description="truncate the JSON body of the real response")
    slow_body_ms: int = Field(default=0, ge=0, le=120_000, description="spread the body over this many ms")

    @model_validator(mode="after")
    def one_effect(self) -> Self:
        """At most one effect besides latency, so a rule means one thing."""
        effects = [self.status is not None, self.drop is not None, self.malformed_json, self.slow_body_ms > 0]
        if sum(effects) > 1:
            raise ValueError("choose at most one of status, drop, malformed_json and slow_body_ms")
        if self.method is not None:
            self.method = self.method.upper()
        return self

    def matches(self, method: str, path: str) -> bool:
        """Whether a request falls under this rule."""
        return (self.method is None or self.method == method) and path.startswith(self.path)


class ConnectionDropped(ConnectionError):
    """Raised in place of a dropped connection when there is no socket to drop (in-process ASGI transport)."""


@dataclass(eq=False)
class _Armed:
    """A rule and how many more requests it applies to (compared by identity, so equal rules stay apart)."""

    rule: FaultRule
    remaining: int | None


@dataclass
class FaultPlan:
    """The active rules, in the order they were added."""

    _rules: list[_Armed] = field(default_factory=list)

    def add(self, rules: list[FaultRule]) -> None:
        """Append rules (they apply after those already present)."""
        self._rules.extend(_Armed(rule, rule.times) for rule in rules)

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def active(self) -> list[FaultRule]:
        """Rules that still apply to some request."""
        return [armed.rule for armed in self._rules]

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule for this request, counting it against the rule's ``times``."""
        if path.startswith(HOOK_PREFIX):
            return None
        for armed in self._rules:
            if armed.rule.matches(method, path):
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        self._rules.remove(armed)
                return armed.rule
        return None


def status_response(rule: FaultRule) -> Response:
    """What an instance (or what stands in front of it) answers with for each injected status."""
    if rule.status == 429:
        return error_response(
            429,
            "Rate limit exceeded",
            "Too many requests: the instance is throttling this user",
            headers={"Retry-After": str(rule.retry_after)},
        )
    if rule.status == 502:
        return HTMLResponse(login_page.bad_gateway_page(), status_code=502)
    if rule.status == 503:
        return HTMLResponse(login_page.hibernating_page(), status_code=503)
    return error_response(500, *SERVER_ERROR)


async def drop_connection(receive: Receive, *, unread_body: bool) -> None:
    """Abort the TCP connection under this request, so the client sees no response at all.

    ASGI has no way to do this, so the transport is taken from uvicorn's request cycle (the object ``receive``
    is bound to); without one (an in-process transport) ``ConnectionDropped`` is raised instead. An unread
    request body is read first: closing a socket with unread input sends a reset instead of a clean end of
    stream, and the client would see a different error depending on timing.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise ConnectionDropped("fault injection dropped the connection")
    while unread_body:
        message = await receive()
        unread_body = message["type"] == "http.request" and bool(message.get("more_body"))
    transport.abort()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2):
            while (await receive())["type"] != "http.disconnect":
                pass


@dataclass
class _Captured:
    start: Message | None = None
    body: bytearray = field(default_factory=bytearray)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))


def _with_length(start: Message, length: int, content_type: str | None = None) -> Message:
    replaced = {b"content-length"} | ({b"content-type"} if content_type else set())
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in replaced]
    headers.append((b"content-length", str(length).encode()))
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    return {**start, "headers": headers}


class FaultMiddleware:
    """Applies the first matching rule of ``plan`` to each request."""

    def __init__(self, app: ASGIApp, *, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self.plan.take(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        log.info(
            "fault.applied",
            method=scope["method"],
            path=scope["path"],
            rule=rule.model_dump(exclude_defaults=True),
        )
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.status is not None:
            await status_response(rule)(scope, receive, send)
        elif rule.drop == "before":
            await drop_connection(receive, unread_body=True)
        elif rule.drop == "after" or rule.malformed_json or rule.slow_body_ms:
            await self._rewrite(rule, scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _rewrite(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        captured = _Captured()
        await self.app(scope, receive, captured.send)
        if rule.drop == "after" or captured.start is None:
            await drop_connection(receive, unread_body=False)
            return
        body = bytes(captured.body)
        if rule.malformed_json and body:
            # Half a JSON document never parses; an empty body (204) has nothing to spoil and is sent as is.
            body = body[: len(body) // 2]
            await send(_with_length(captured.start, len(body), CONTENT_TYPE))
            await send({"type": "http.response.body", "body": body})
            return
        await send(_with_length(captured.start, len(body)))
        size = max(1, -(-len(body) // SLOW_BODY_CHUNKS))
        pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for index, piece in enumerate(pieces):
            if index:
                await asyncio.sleep(rule.slow_body_ms / 1000 / max(len(pieces) - 1, 1))
            await send({"type": "http.response.body", "body": piece, "more_body": index < len(pieces) - 1})
