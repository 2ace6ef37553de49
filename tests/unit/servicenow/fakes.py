"""In-memory stand-ins for unit tests: an instance behind ``httpx.MockTransport`` and a consenting user."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx

from adapter.servicenow.authorizers.base import AuthorizationAttempt, FixedRedirectAttempt
from adapter.servicenow.connection import Connection, ConnectionOptions
from adapter.servicenow.validation import parse_instance_url

INSTANCE = "https://acme.service-now.com"
USER = {"sys_id": "6816f79cc0a8016401c5a33be04be441", "user_name": "admin", "name": "System Administrator"}

# Paths the fake answers itself (sign-in, revocation, current user); the rest are the test's API requests.
_OWN_PATHS = frozenset({"/oauth_token.do", "/oauth_revoke_token.do", "/api/now/table/sys_user"})

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeInstance:
    """Answers the token endpoint and the current-user query; ``api`` answers everything else."""

    api: Handler = field(default=lambda request: httpx.Response(200, json={"result": []}))
    requests: list[httpx.Request] = field(default_factory=list)
    expires_in: int = 1799
    issued: int = 0
    refuse_refresh: bool = False
    # When set, API answers wait for it, so that tests can hold requests in flight.
    hold: asyncio.Event | None = None
    # API requests that were cancelled while held.
    cancelled: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth_token.do":
            if self.refuse_refresh and b"grant_type=refresh_token" in request.content:
                return httpx.Response(
                    401, json={"error_description": "access_denied", "error": "server_error"}
                )
            self.issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"access-token-number-{self.issued}",
                    "refresh_token": "refresh-token-original",
                    "expires_in": self.expires_in,
                    "token_type": "Bearer",
                    "scope": "useraccount",
                },
            )
        if request.url.path == "/oauth_revoke_token.do":
            return httpx.Response(200)
        if request.url.path == "/api/now/table/sys_user":
            return httpx.Response(200, json={"result": [USER]})
        return self.api(request)

    async def handle_held(self, request: httpx.Request) -> httpx.Response:
        response = self.handle(request)
        if self.hold is not None and request.url.path not in _OWN_PATHS:
            try:
                await self.hold.wait()
            except asyncio.CancelledError:
                self.cancelled.append(request)
                raise
        return response

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle_held)

    def api_requests(self) -> list[httpx.Request]:
        """Requests other than the OAuth and current-user ones."""
        return [request for request in self.requests if request.url.path not in _OWN_PATHS]


class ApprovingAuthorizer:
    """Approves at once: reads the state from the authorize URL and hands back a fixed code."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    @asynccontextmanager
    async def attempt(
        self, instance_redirect_uri: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[AuthorizationAttempt]:
        yield _Approve(instance_redirect_uri, self.urls)


class _Approve(FixedRedirectAttempt):
    def __init__(self, redirect_uri: str, urls: list[str]) -> None:
        super().__init__(redirect_uri)
        self._urls = urls

    async def complete(self, authorize_url: str, state: str) -> str:
        self._urls.append(authorize_url)
        assert parse_qs(urlsplit(authorize_url).query)["state"] == [state]
        return "authorization-code-1"


async def signed_in(
    instance: FakeInstance,
    *,
    options: ConnectionOptions | None = None,
    clock: Callable[[], float] | None = None,
) -> Connection:
    """A connection signed in to ``instance`` through the fake authorizer."""
    connection = Connection(
        address=parse_instance_url(INSTANCE),
        instance_url=INSTANCE,
        client_id="openfin-demo",
        scope=(),
        transport=instance.transport(),
        options=options or ConnectionOptions(),
        clock=clock or time.time,
    )
    await connection.login(ApprovingAuthorizer())
    return connection


def json_body(request: httpx.Request) -> object:
    return json.loads(request.content)
