"""Authentication of REST requests (``/api/*``): HTTP Basic for users, Bearer for tokens the instance issued.

The middleware sets ``request.state.caller`` (a ``Caller``) on every ``/api/`` request that reaches a route,
or answers 401 itself with the instance's envelope. The scripted API's token endpoints are public, since the
official client calls them without credentials (docs/emulators/servicenow.md, the scripted API).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.envelope import error_response
from adapter.emulators.servicenow.identity import Caller
from adapter.emulators.servicenow.tokens import TokenRegistry

log = structlog.get_logger(__name__)

PUBLIC_API_PATHS = frozenset(
    {
        "/api/x_opfi_openfin/v1/integration/request_tokens",
        "/api/x_opfi_openfin/v1/integration/revoke_token",
    }
)
NOT_AUTHENTICATED = ("User Not Authenticated", "Required to provide Auth information")


class UserDirectory(Protocol):
    """What authentication needs from the user store (``Store`` provides it)."""

    def authenticate(self, user_name: str, password: str) -> Caller | None:
        """The user when the password is right, else ``None``."""

    def caller(self, user_name: str) -> Caller | None:
        """The user named ``user_name``, if any."""

    def caller_by_id(self, sys_id: str) -> Caller | None:
        """The user with this ``sys_id``, if any."""

    def user_record(self, sys_id: str) -> dict[str, str] | None:
        """The user's ``sys_user`` row with every value as a string."""


def parse_basic(value: str) -> tuple[str, str] | None:
    """``(user, password)`` from the credentials of a Basic header, or ``None`` when malformed."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


@dataclass
class BasicSessions:
    """Verified Basic credentials remembered for ``ttl`` seconds of emulator time, as an instance's session
    cookie would, so that not every request pays for the password hash. Only a digest is kept."""

    clock: Clock
    ttl: float = 300.0
    capacity: int = 1024
    _verified: dict[str, tuple[str, float]] = field(default_factory=dict)

    def caller(self, credentials: str, users: UserDirectory) -> Caller | None:
        """The caller for a Basic header's credentials, verifying the password when not remembered."""
        key = hashlib.sha256(credentials.encode("utf-8", errors="replace")).hexdigest()
        now = self.clock.timestamp()
        remembered = self._verified.get(key)
        if remembered is not None and now < remembered[1]:
            return users.caller_by_id(remembered[0])
        pair = parse_basic(credentials)
        caller = users.authenticate(*pair) if pair else None
        if caller is not None:
            if len(self._verified) >= self.capacity:
                self._verified.clear()
            self._verified[key] = (caller.sys_id, now + self.ttl)
        return caller


def identify(
    authorization: str,
    query: Callable[[], QueryParams],
    users: UserDirectory,
    tokens: TokenRegistry,
    sessions: BasicSessions,
) -> Caller | None:
    """The caller a request authenticates as, or ``None``: by its ``Authorization`` value, or by the
    ``access_token`` of its query (parsed only when that header is absent)."""
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "basic":
        return sessions.caller(credentials, users)
    if scheme.lower() == "bearer":
        bearer = credentials
    elif not scheme:
        bearer = query().get("access_token", "")
    else:
        return None
    token = tokens.access(bearer) if bearer else None
    return users.caller_by_id(token.user_sys_id) if token else None


class AuthenticationMiddleware:
    """ASGI middleware guarding ``/api/``; adds ``X-Is-Logged-In`` as an instance does."""

    def __init__(self, app: ASGIApp, *, users: UserDirectory, tokens: TokenRegistry) -> None:
        self.app = app
        self.users = users
        self.tokens = tokens
        self.sessions = BasicSessions(tokens.clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or path in PUBLIC_API_PATHS:
            await self.app(scope, receive, send)
            return
        authorization = Headers(scope=scope).get("authorization", "")
        caller = identify(
            authorization,
            lambda: QueryParams(scope.get("query_string", b"")),
            self.users,
            self.tokens,
            self.sessions,
        )
        if caller is None:
            log.info("auth.refused", method=scope["method"], path=path)
            response = error_response(
                401,
                *NOT_AUTHENTICATED,
                headers={"WWW-Authenticate": 'BASIC realm="Service-now"'},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller

        async def send_logged_in(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-is-logged-in", b"true")]
            await send(message)

        await self.app(scope, receive, send_logged_in)
