"""One signed-in connection to one instance for one OAuth client: tokens, refresh, requests, revocation.

Requests follow the official ``executeApiRequest`` semantics (join rule, Accept, JSON bodies, the
``X-no-response-body`` header, ``result`` unwrapping, ``{status, data?, type?}``), and improve on it:

* the access token is refreshed ahead of ``expires_in`` (``refresh_margin`` seconds early) and on a 401,
  exactly once however many requests are waiting (single flight), keeping a rotated refresh token;
* a refused refresh moves the connection to ``expired`` (listeners hear it) and raises
  ``AuthTokenExpiredError``; later requests fail the same way at once;
* 429 (honouring ``Retry-After``), 5xx and dropped connections are retried for GET only, within a
  deadline; a request that was never sent (connect error) is retried for any method;
* each attempt is bounded by ``timeout.read``, and one deadline bounds the request, every attempt and wait
  included (``retry.deadline``, or ``timeout.read`` when longer): an attempt in flight when it passes is
  given up and the last failure reported;
* identical GETs without a body in flight at the same time share one request (``ReadCoalescer``, keyed by
  method, full URL, normalised headers and ``suppressResponseBody``), and every other method runs as a
  write, so that a read starting after it never gets an answer from before it;
* after ``record_changed(table, sys_id)`` (the bridge calls it before telling the apps), identical reads of
  that record share one answer fetched after the call for a short window, since the apps' reads arrive
  spread over the fan-out rather than together;
* only paths under the allowed prefixes (``/api/`` and what the deployment adds) are requested, request
  bodies are bounded, answers over the pool's bounds are refused by name and never retried;
* tokens never leave this object.

Why one module: the token set is the state that both halves turn on. Every request attempt reads it, a 401 in
the middle of the retry loop refreshes it (single flight, keyed by its generation), a refused refresh expires
the connection that later requests then fail on, and ``close`` revokes it. Split along tokens and requests,
either the retry loop would reach into the token holder's state or the tokens would leave this object.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import httpx
import structlog

from adapter import jsoncodec
from adapter.logging import forget_secret
from adapter.servicenow import body_decoding
from adapter.servicenow.authorizers.base import Authorizer
from adapter.servicenow.coalesce import CHANGE_WINDOW, ReadCoalescer
from adapter.servicenow.errors import (
    ApiError,
    ApiRequestError,
    AuthTokenExpiredError,
    NotConnectedError,
    ParameterError,
)
from adapter.servicenow.http1 import Answer, network_failure
from adapter.servicenow.listeners import add_listener
from adapter.servicenow.oauth import OAuthEndpoints, OAuthSession, TokenEndpointMode, TokenSet
from adapter.servicenow.response import (
    ApiResponse,
    error_from_response,
    success_response,
)
from adapter.servicenow.retry import Outcome, RetryPolicy
from adapter.servicenow.transport import DEFAULT_TIMEOUT, sender_for
from adapter.servicenow.validation import (
    InstanceAddress,
    join_url,
    validate_api_path,
    validate_headers,
    validate_method,
)

log = structlog.get_logger(__name__)
_stdlib_log = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
GET_WITH_BODY = "Request with GET/HEAD method cannot have body."
DEFAULT_REFRESH_MARGIN = 60.0
# ServiceNow's own default cap on a REST request body (glide.rest.max_content_length) is 10 MB.
DEFAULT_MAX_REQUEST_BODY = 10 * 1024 * 1024
REST_API_PATHS = ("/api/",)
# Checked endpoints remembered per connection (``Connection._target``): how many, and up to what length.
_REMEMBERED_ENDPOINTS = 1_024
_REMEMBERED_ENDPOINT_LENGTH = 4_096
_Target = tuple[httpx.URL, str, tuple[str, str] | None]


class ConnectionState(StrEnum):
    """Where a connection is; ``refreshed`` is only ever an event, the state stays ``connected``."""

    CONNECTED = "connected"
    REFRESHED = "refreshed"
    EXPIRED = "expired"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class ConnectionKey:
    """What makes two connects share one login: the instance origin and the OAuth client id."""

    origin: str
    client_id: str


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """How a connection talks to its instance."""

    mode: TokenEndpointMode = "standard"
    refresh_margin: float = DEFAULT_REFRESH_MARGIN
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_request_body: int = DEFAULT_MAX_REQUEST_BODY
    allowed_paths: tuple[str, ...] = REST_API_PATHS
    change_read_window: float = CHANGE_WINDOW


Listener = Callable[["Connection", ConnectionState], None]
TokenSaver = Callable[[str | None], Awaitable[None]]


class Connection:
    """A connection is created signed in, by ``Connection.login`` or ``Connection.resume``."""

    def __init__(
        self,
        *,
        address: InstanceAddress,
        instance_url: str,
        client_id: str,
        scope: Sequence[str],
        transport: httpx.AsyncBaseTransport,
        options: ConnectionOptions = ConnectionOptions(),
        clock: Callable[[], float] = time.time,
        on_tokens: TokenSaver | None = None,
    ) -> None:
        self.address = address
        self.instance_url = instance_url
        self.client_id = client_id
        self.scope = tuple(scope)
        self.key = ConnectionKey(address.origin, client_id)
        self.current_user: dict[str, Any] = {}
        self._options = options
        self._clock = clock
        self._on_tokens = on_tokens
        self._endpoints = OAuthEndpoints.for_instance(address.origin, options.mode)
        self._oauth = OAuthSession(
            client_id=client_id,
            endpoints=self._endpoints,
            transport=transport,
            timeout=options.timeout,
            clock=clock,
        )
        self._transport = transport
        self._sender = sender_for(transport)
        self._tokens: TokenSet | None = None
        self._generation = 0
        self._refresh_task: asyncio.Task[None] | None = None
        self._state = ConnectionState.DISCONNECTED
        self._closed = False
        self._announced = False
        self._listeners: list[Listener] = []
        self.coalescer: ReadCoalescer[ApiResponse] = ReadCoalescer(window=options.change_read_window)
        self._targets: dict[str, _Target] = {}

    # ----- lifecycle -------------------------------------------------------------------------------------

    async def login(
        self, authorizer: Authorizer, auth_flow_params: Mapping[str, object] | None = None
    ) -> None:
        """Sign in through ``authorizer`` (code + PKCE), then read the current user."""
        async with authorizer.attempt(self._endpoints.instance_redirect_uri, self._transport) as attempt:
            request = self._oauth.authorization_request(
                scope=self.scope, auth_flow_params=auth_flow_params, redirect_uri=attempt.redirect_uri
            )
            code = await attempt.complete(request.url, request.state)
        tokens = await self._oauth.exchange_code(code, request)
        await self._start(tokens)

    async def resume(self, refresh_token: str) -> None:
        """Sign in with a stored refresh token (no user); ``AuthTokenExpiredError`` if refused."""
        tokens = await self._oauth.refresh(refresh_token)
        await self._start(tokens)

    async def _start(self, tokens: TokenSet) -> None:
        self._tokens = tokens
        self._state = ConnectionState.CONNECTED
        await self._save_refresh_token(tokens.refresh_token)
        try:
            self.current_user = await self._read_current_user()
        except ApiError:
            await self.close(revoke=True)
            raise
        log.info("connection.connected", instance=self.address.origin, client_id=self.client_id)
        self._announced = True
        self._emit(ConnectionState.CONNECTED)

    async def _read_current_user(self) -> dict[str, Any]:
        response = await self.execute(self._endpoints.user_endpoint)
        data = response.data
        if isinstance(data, list):
            data = data[0] if data else None
        if not isinstance(data, dict):
            raise ApiRequestError("Failed to read the current user", status=response.status)
        return data

    async def close(self, *, revoke: bool = True) -> bool:
        """Disconnect: revoke the access then the refresh token (when ``revoke``), drop them, release HTTP.

        Returns whether every revocation succeeded. Idempotent; never raises.
        """
        if self._closed:
            return False
        self._closed = True
        refreshing = self._refresh_task
        if refreshing is not None:  # let it land, so that the tokens it brings are revoked too
            with suppress(Exception):
                await asyncio.shield(refreshing)
        tokens, self._tokens = self._tokens, None
        self.coalescer.reset()
        self._state = ConnectionState.DISCONNECTED
        revoked = False
        if tokens is not None and revoke:
            access_ok = await self._oauth.revoke(tokens.access_token, "access_token")
            refresh_ok = (
                await self._oauth.revoke(tokens.refresh_token, "refresh_token")
                if tokens.refresh_token
                else False
            )
            revoked = access_ok and refresh_ok
            await self._save_refresh_token(None)
        if tokens is not None:
            forget_secret(tokens.access_token)
            if tokens.refresh_token:
                forget_secret(tokens.refresh_token)
        await self._sender.aclose()
        await self._oauth.aclose()
        log.info("connection.closed", instance=self.address.origin, client_id=self.client_id, revoked=revoked)
        if self._announced:  # listeners that never heard "connected" need no "disconnected"
            self._emit(ConnectionState.DISCONNECTED)
        return revoked

    # ----- observation -----------------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """``connected``, ``expired`` or ``disconnected``."""
        return self._state

    @property
    def token_expires_at(self) -> datetime | None:
        """When the access token expires (UTC), if the instance said; never the token itself."""
        if self._tokens is None or self._tokens.expires_at is None:
            return None
        return datetime.fromtimestamp(self._tokens.expires_at, tz=UTC)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(connection, state)`` on each state change; returns a remover."""
        return add_listener(self._listeners, listener)

    def _emit(self, state: ConnectionState) -> None:
        for listener in list(self._listeners):
            try:
                listener(self, state)
            except Exception:
                log.exception("connection.listener_failed", state=state.value)

    # ----- tokens ----------------------------------------------------------------------------------------

    def _due_for_refresh(self) -> bool:
        tokens = self._tokens
        if tokens is None or tokens.expires_at is None or tokens.lifetime is None:
            return False
        # Never more than half the lifetime early, so that short-lived tokens do not refresh on every request.
        margin = min(self._options.refresh_margin, tokens.lifetime / 2)
        return self._clock() >= tokens.expires_at - margin

    async def _refresh_once(self, seen_generation: int) -> None:
        """Refresh unless another caller did since ``seen_generation``; callers share one grant."""
        if self._generation != seen_generation:
            return
        if self._refresh_task is None:
            self._refresh_task = asyncio.create_task(self._refresh())
            # Read the outcome even if every waiter was cancelled, so it is never reported as unretrieved.
            self._refresh_task.add_done_callback(lambda done: done.cancelled() or done.exception())
        task = self._refresh_task
        try:
            await asyncio.shield(task)
        finally:
            if task.done() and self._refresh_task is task:
                self._refresh_task = None

    async def _refresh(self) -> None:
        tokens = self._usable()
        if not tokens.refresh_token:
            self._expire()
            raise AuthTokenExpiredError("Failed to refresh access token")
        try:
            fresh = await self._oauth.refresh(tokens.refresh_token)
        except AuthTokenExpiredError:
            self._expire()
            raise
        if self._tokens is None:  # closed while refreshing: drop what arrived
            return
        self._tokens = fresh
        self._generation += 1
        if fresh.refresh_token != tokens.refresh_token:
            await self._save_refresh_token(fresh.refresh_token)
        forget_secret(tokens.access_token)
        log.info("connection.refreshed", instance=self.address.origin, client_id=self.client_id)
        self._emit(ConnectionState.REFRESHED)

    def _expire(self) -> None:
        if self._state is ConnectionState.CONNECTED:
            self._state = ConnectionState.EXPIRED
            log.warning("connection.expired", instance=self.address.origin, client_id=self.client_id)
            self._emit(ConnectionState.EXPIRED)

    async def _save_refresh_token(self, refresh_token: str | None) -> None:
        if self._on_tokens is None:
            return
        try:
            await self._on_tokens(refresh_token)
        except Exception as error:  # persistence is optional: a failing keyring must not break the connection
            log.warning("connection.token_store_failed", error=type(error).__name__)

    def _usable(self) -> TokenSet:
        if self._state is ConnectionState.EXPIRED:
            raise AuthTokenExpiredError("Failed to refresh access token")
        if self._tokens is None or self._state is ConnectionState.DISCONNECTED:
            raise NotConnectedError(f"Not connected to {self.address.origin}")
        return self._tokens

    # ----- requests --------------------------------------------------------------------------------------

    async def execute(
        self,
        endpoint: str,
        method: str = "GET",
        data: Any = None,
        suppress_response_body: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """Send one API request to this instance and return ``{status, data?, type?}``.

        ``ParameterError`` for a bad endpoint, method or header (before any I/O); ``ApiRequestError`` for a
        non-2xx answer or I/O failure; ``AuthTokenExpiredError`` when the session cannot be renewed;
        ``NotConnectedError`` after ``close``.
        """
        verb = validate_method(method)
        url, url_text, scope = self._target(endpoint)
        request_headers = _request_headers(verb, validate_headers(headers), suppress_response_body)
        content = _request_body(data)
        if content is not None and verb == "GET":
            # What the official package's fetch throws; nothing is sent (a GET has no body on the web).
            raise ApiRequestError(GET_WITH_BODY)
        if content is not None and len(content) > self._options.max_request_body:
            raise ParameterError(
                f"Request body of {len(content)} bytes is over the limit of "
                f"{self._options.max_request_body} bytes"
            )
        self._usable()
        if verb == "GET" and content is None:
            key = (verb, url_text, _header_key(request_headers), suppress_response_body)
            return await self.coalescer.read(
                key, lambda: self._execute_once(verb, url, content, request_headers), scope=scope
            )
        async with self.coalescer.write():
            return await self._execute_once(verb, url, content, request_headers)

    def _target(self, endpoint: object) -> _Target:
        """The checked URL of ``endpoint`` (``ParameterError`` as ``join_url`` and ``validate_api_path``), its
        text and its record scope; remembered per endpoint, since apps ask for the same ones over and over
        and the answer for an endpoint never changes on one connection."""
        target = self._targets.get(endpoint) if type(endpoint) is str else None
        if target is not None:
            return target
        url = join_url(self.address, endpoint)
        validate_api_path(url, self._options.allowed_paths)
        target = (url, str(url), record_scope(url))
        if type(endpoint) is str and len(endpoint) <= _REMEMBERED_ENDPOINT_LENGTH:
            if len(self._targets) >= _REMEMBERED_ENDPOINTS:
                self._targets.clear()
            self._targets[endpoint] = target
        return target

    def record_changed(self, table: str, sys_id: str) -> None:
        """The apps are about to be told that record ``sys_id`` of ``table`` changed: for a short while, their
        identical reads of it share one answer fetched from now on (``ReadCoalescer.announce``)."""
        self.coalescer.announce((table, sys_id))

    async def _execute_once(
        self, verb: str, url: httpx.URL, content: bytes | None, request_headers: dict[str, str]
    ) -> ApiResponse:
        """One request with its retries, refresh and deadline."""
        # One attempt may use the whole per-request timeout even when it is longer than the retry deadline.
        budget = max(self._options.retry.deadline, self._options.timeout.read or 0.0)
        last = _Failed(None)
        try:
            async with asyncio.timeout(budget):
                return await self._attempts(verb, url, content, request_headers, budget, last)
        except _Failed as failed:
            failure = failed.error
        except TimeoutError:
            # The deadline passed with an attempt (or a wait) in flight: the last failure, if any, is the
            # most useful answer; otherwise say it timed out.
            failure = last.error
        raise failure or ApiRequestError(f"Timed out: no complete answer within {budget} s")

    async def _attempts(
        self,
        verb: str,
        url: httpx.URL,
        content: bytes | None,
        request_headers: dict[str, str],
        budget: float,
        last: _Failed,
    ) -> ApiResponse:
        """Attempts until success, a failure not worth retrying, or no time left; ``last`` keeps the latest
        failure for the caller to report if the deadline passes during the next attempt."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            generation, response = await self._send_once(verb, url, content, request_headers)
            wait: float | None
            if isinstance(response, httpx.TransportError):
                if isinstance(response, body_decoding.ResponseTooLarge):
                    raise _Failed(ApiRequestError(str(response), detail={"limit": response.limit}))
                unfixable = network_failure(response)
                if unfixable is not None:
                    raise _Failed(ApiRequestError(unfixable[0].upper() + unfixable[1:]))
                outcome = Outcome.NOT_SENT if _never_sent(response) else Outcome.MAYBE_SENT
                wait = self._options.retry.delay_before_retry(
                    method=verb,
                    outcome=outcome,
                    status=None,
                    retry_after=None,
                    attempt=attempt,
                    remaining=deadline - loop.time(),
                )
                log.warning("request.io_error", method=verb, error=type(response).__name__, retry_in=wait)
                failure: ApiError = ApiRequestError(str(response) or type(response).__name__)
                if wait is None:
                    raise _Failed(failure)
            elif response.status_code == 401 and not refreshed:
                # As the official package: one refresh and one retry per request (shared with all others).
                refreshed = True
                await self._refresh_once(generation)
                continue
            elif response.is_success:
                return success_response(
                    response.status_code, response.header("content-type"), response.content
                )
            else:
                wait = self._options.retry.delay_before_retry(
                    method=verb,
                    outcome=Outcome.STATUS,
                    status=response.status_code,
                    retry_after=response.header("retry-after"),
                    attempt=attempt,
                    remaining=deadline - loop.time(),
                )
                failure = error_from_response(
                    response.status_code, response.header("content-type"), response.content
                )
                if wait is None:
                    raise _Failed(failure)
            last.error = failure
            await asyncio.sleep(wait)

    async def _send_once(
        self, verb: str, url: httpx.URL, content: bytes | None, headers: Mapping[str, str]
    ) -> tuple[int, Answer | httpx.TransportError]:
        """One attempt with the current (or early-refreshed) token; I/O errors are returned, not raised."""
        if self._due_for_refresh():
            try:
                await self._refresh_once(self._generation)
            except ApiRequestError as error:  # transient: the current token may still be good
                log.warning("connection.early_refresh_failed", error=error.message)
        tokens = self._usable()
        generation = self._generation
        started = time.perf_counter()
        try:
            # One deadline for the whole exchange (timeout.read): a body trickling in must not outlive it.
            response = await self._sender.send(
                verb,
                url,
                [*headers.items(), ("Authorization", f"Bearer {tokens.access_token}")],
                content,
                self._options.timeout,
            )
        except RuntimeError:
            if self._closed:  # an injected httpx transport's client refuses to send once closed under us
                raise NotConnectedError(f"Not connected to {self.address.origin}") from None
            raise
        except httpx.DecodingError as error:
            raise ApiRequestError(str(error)) from None
        except httpx.TransportError as error:
            if self._closed:
                raise NotConnectedError(f"Not connected to {self.address.origin}") from None
            return generation, error
        # Every app request passes here: a line per success at info was a large share of the adapter's CPU
        # under load (docs/performance.md), so successes log at debug (built only when debug is on) and
        # refusals and server errors at info.
        if response.is_error or _stdlib_log.isEnabledFor(logging.DEBUG):
            (log.info if response.is_error else log.debug)(
                "request.done",
                method=verb,
                path=url.path,
                status=response.status_code,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        return generation, response


def _request_headers(method: str, caller: dict[str, str], suppress_response_body: bool) -> dict[str, str]:
    lowered = {name.lower() for name in caller}
    headers = {} if "accept" in lowered else {"Accept": "application/json"}
    headers.update(caller)
    if suppress_response_body:
        headers = {k: v for k, v in headers.items() if k.lower() != "x-no-response-body"}
        headers["X-no-response-body"] = "true"
    if method in BODY_METHODS and "content-type" not in lowered:
        headers["Content-Type"] = "application/json"
    return headers


_RECORD_PATH = re.compile(r"^/api/now(?:/v[12])?/table/(?P<table>[a-z0-9_]+)/(?P<sys_id>[0-9a-f]{32})/?$")


def record_scope(url: httpx.URL) -> tuple[str, str] | None:
    """``(table, sys_id)`` of a Table API read of one record, the scope ``record_changed`` names."""
    match = _RECORD_PATH.match(url.path)
    return None if match is None else (match["table"], match["sys_id"])


def _header_key(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Headers as a coalescing key: names are case-insensitive on the wire, so compare them lowered."""
    return tuple(sorted((name.lower(), value) for name, value in headers.items()))


def _request_body(data: Any) -> bytes | None:
    """Objects and arrays as JSON, strings raw, other scalars as their JSON text; None sends no body."""
    if data is None:
        return None
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, bytes):
        return data
    try:
        return jsoncodec.dumps_bytes(data)
    except (TypeError, ValueError) as error:
        raise ParameterError(f"Invalid request data: {error}") from None


class _Failed(Exception):
    """Carries a request's failure out of its deadline block; never leaves ``execute``."""

    def __init__(self, error: ApiError | None) -> None:
        super().__init__()
        self.error = error


def _never_sent(error: httpx.TransportError) -> bool:
    # A failure to connect (or to get a pooled connection) happens before a single byte left.
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
