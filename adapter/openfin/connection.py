"""The websocket connection to the OpenFin runtime: handshake, socket, reconnects, shutdown (the I/O shell).

``RuntimeConnection`` is the only place that does I/O with the runtime. It authorizes as an external
connection (file-token handshake, or the sponsored token a platform provider hands over), sends requests
numbered and timed out by the ``Correlator``, and reads the socket, handing every frame to its pure core,
the ``FrameRouter`` (routing.py: replies, channel endpoints, desktop-event listeners, counters), then doing
the I/O the router asks for: having our provider serve a message (a plain-function action is answered at
once, its reply written without awaiting; the rest run as tasks it owns), running a client endpoint's
handler as such a task, or sending a refusal. When the runtime goes away it reconnects with capped,
jittered backoff and replays what the runtime forgot:
desktop-event subscriptions first, then every attached component (``Restorable``: channel providers, channel
clients, the interop client) in the order they were attached, each part that fails retried with backoff
until all are back (state ``restoring`` until then). Its state (``RuntimeConnectionState``) moves in one
place, ``_set_state``, and is observable through callbacks or an async iterator.

Why one module: everything left here touches the one socket or the tasks that own it (the
handshake, three ways of sending requests, the reader, the supervisor and the replay), and the rules that
need none of that already live in ``routing``, ``desktop_events`` and ``connection_state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Protocol

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from adapter.logging import register_secret
from adapter.openfin.connection_state import RuntimeConnectionState, StateWatch
from adapter.openfin.correlator import Correlator
from adapter.openfin.desktop_events import EventKey, EventListener, EventSubscription, event_payload
from adapter.openfin.errors import (
    AuthorizationRejected,
    ConnectionLostError,
    FrameTooLargeError,
    ProtocolError,
    RequestTimeoutError,
    RuntimeNotConnectedError,
    RuntimeRequestError,
)
from adapter.openfin.frames import (
    AUTHORIZATION_RESPONSE,
    EXTERNAL_AUTHORIZATION_RESPONSE,
    AuthorizationResponse,
    ExternalAuthorizationResponse,
    Identity,
    PushFrame,
    authorization_request,
    encode,
    encode_request,
    external_authorization_request,
    parse_frame,
    parse_push,
)
from adapter.openfin.reconnect import Backoff, should_reconnect
from adapter.openfin.routing import (
    ClientEndpoint,
    ConnectionDelivery,
    ConnectionStats,
    FrameRouter,
    MessageDelivery,
    ProviderEndpoint,
    ProviderMessage,
)

log = structlog.get_logger(__name__)
INBOUND_HARD_LIMIT = 4
"""A frame over this many times ``max_frame_bytes`` is not read at all: the socket is closed instead."""
MAX_QUEUED_FRAMES = 1_024
"""Frames ``send_soon`` may hold waiting for room on the socket before the reader stops taking messages: a
runtime that stops reading the adapter's answers stops the adapter reading its messages (the socket's own
backpressure) rather than growing a queue of answers without end."""
# The standard logger structlog's level filter consults: asking it first skips building a debug event
# (bound logger, processors) for every request when debug is off.
_stdlib_log = logging.getLogger(__name__)


class Restorable(Protocol):
    """A component whose runtime-side state dies with the socket and must be re-created after a reconnect."""

    def connection_lost(self) -> None:
        """The socket closed: drop state the runtime forgot (sync, called before reconnecting)."""

    async def restore(self) -> None:
        """The connection is authorized again: re-create runtime-side state (channels, registrations)."""

    async def shutdown(self) -> None:
        """The connection is closing cleanly: undo runtime-side state while the socket is still open."""


class RuntimeConnection:
    """An authorized external connection to one OpenFin runtime, kept alive across runtime restarts.

    ``uuid`` is also the connection's ``name``. Pass ``token`` for the sponsored handshake (a token from
    ``registerExternalConnection``, handed over by a platform provider); without one, the file-token
    handshake runs. A restarted runtime no longer knows a registered token, so reconnects always use the
    file-token handshake.
    """

    def __init__(
        self,
        address: str,
        uuid: str,
        *,
        token: str | None = None,
        request_timeout: float = 10.0,
        handshake_timeout: float = 10.0,
        backoff: Backoff | None = None,
        reconnect: bool = True,
        max_frame_bytes: int | None = None,
        max_json_depth: int | None = None,
    ) -> None:
        self.address = address
        self.request_timeout = request_timeout
        self.handshake_timeout = handshake_timeout
        self.backoff = backoff or Backoff()
        self.reconnect = reconnect
        self.max_frame_bytes = max_frame_bytes
        self.max_json_depth = max_json_depth
        self.stats = ConnectionStats()
        self.last_error: BaseException | None = None
        self._token = token
        if token is not None:
            register_secret(token)
        self._started = False
        self._lifecycle = StateWatch()
        self._correlator = Correlator()
        self._router = FrameRouter(
            uuid,
            self._correlator,
            self.stats,
            max_frame_bytes=max_frame_bytes,
            max_json_depth=max_json_depth,
        )
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._restorables: list[Restorable] = []
        # Frames ``send_soon`` queued that are not on the socket yet; ``_room`` is clear while they reach
        # ``MAX_QUEUED_FRAMES``.
        self._queued = 0
        self._room = asyncio.Event()
        self._room.set()

    # ----------------------------------------------------------------------------------------- state

    @property
    def state(self) -> RuntimeConnectionState:
        """The current state."""
        return self._lifecycle.current

    @property
    def uuid(self) -> str:
        """Our uuid (also our ``name``): the one asked for, or the one the runtime assigned us."""
        return self._router.uuid

    @property
    def identity(self) -> Identity:
        """Our identity on the runtime: ``{uuid, name: uuid}``."""
        return Identity(uuid=self.uuid, name=self.uuid)

    def on_state_change(self, callback: Callable[[RuntimeConnectionState], None]) -> Callable[[], None]:
        """Call ``callback(state)`` on every state change; returns a function that removes it."""
        return self._lifecycle.on_change(callback)

    def states(self) -> AsyncIterator[RuntimeConnectionState]:
        """The current state, then each change, ending after ``closed``."""
        return self._lifecycle.states()

    async def wait_for(self, state: RuntimeConnectionState, timeout: float) -> None:  # noqa: ASYNC109 (every request owns its deadline)
        """Return once the connection is in ``state``; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            async for current in self.states():
                if current is state:
                    return

    def _set_state(self, state: RuntimeConnectionState) -> None:
        previous = self._lifecycle.current
        if state is previous:
            return
        log.info("runtime.state", state=state.value, previous=previous.value, address=self.address)
        self._lifecycle.move(state)

    # ------------------------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Connect and authorize; raises (and ends ``closed``) if the first attempt fails.

        From then on the connection reconnects by itself until ``close``.
        """
        if self._started:
            raise RuntimeError("RuntimeConnection.connect may be called once")
        self._started = True
        self._set_state(RuntimeConnectionState.CONNECTING)
        try:
            await self._open(token=self._token)
        except BaseException as exc:
            self.last_error = exc
            self._set_state(RuntimeConnectionState.CLOSED)
            raise
        self._set_state(RuntimeConnectionState.CONNECTED)
        self._supervisor = asyncio.create_task(self._supervise(), name="openfin-supervisor")

    async def close(self) -> None:
        """Shut down cleanly: let components undo their runtime state, close the socket, end every task."""
        if self._closing.is_set():
            if self._supervisor is not None:
                await asyncio.gather(self._supervisor, return_exceptions=True)
            return
        self._closing.set()
        if self._ws is not None:
            for component in list(reversed(self._restorables)):
                try:
                    await component.shutdown()
                except Exception as exc:
                    log.warning(
                        "runtime.shutdown_step_failed", component=type(component).__name__, error=str(exc)
                    )
        ws = self._ws
        if ws is not None:
            await ws.close()
        if self._supervisor is not None:
            await asyncio.gather(self._supervisor, return_exceptions=True)
        elif self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self._ws = None
        self._correlator.fail_all(ConnectionLostError())
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._set_state(RuntimeConnectionState.CLOSED)

    async def __aenter__(self) -> RuntimeConnection:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def attach(self, component: Restorable) -> None:
        """Have ``component`` told when the socket is lost, restored, or closing (in attach order)."""
        if component not in self._restorables:
            self._restorables.append(component)

    def detach(self, component: Restorable) -> None:
        """Stop telling ``component`` about the connection's life."""
        if component in self._restorables:
            self._restorables.remove(component)

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run ``coroutine`` as a task the connection owns: logged if it fails, cancelled on ``close``."""
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats.errors += 1
            log.warning("runtime.task_failed", task=task.get_name(), error=repr(task.exception()))

    # ---------------------------------------------------------------------------- open / handshake

    async def _open(self, *, token: str | None) -> None:
        ws = await connect(
            self.address,
            open_timeout=self.handshake_timeout,
            proxy=None,
            # A frame over the bound is still read (to tell its sender) unless it is far over it: only then
            # is the socket given up rather than the memory.
            max_size=None if self.max_frame_bytes is None else INBOUND_HARD_LIMIT * self.max_frame_bytes,
            user_agent_header=None,
        )
        try:
            async with asyncio.timeout(self.handshake_timeout):
                await self._handshake(ws, token)
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        self._reader = asyncio.create_task(self._read(ws), name="openfin-reader")

    async def _handshake(self, ws: ClientConnection, token: str | None) -> None:
        if token is None:
            await self._send_on(ws, external_authorization_request(self.uuid, self._correlator.next_id()))
            grant = await self._handshake_reply(ws, EXTERNAL_AUTHORIZATION_RESPONSE)
            assert isinstance(grant, ExternalAuthorizationResponse)
            register_secret(grant.token)
            await asyncio.to_thread(write_token_file, Path(grant.file), grant.token)
            if grant.uuid and grant.uuid != self.uuid:
                # The runtime assigns the uuid it launched us with (its pid mapping): that is who we are now.
                log.info("runtime.uuid_assigned", requested=self.uuid, assigned=grant.uuid)
                self._router.uuid = grant.uuid
        await self._send_on(ws, authorization_request(self.uuid, self._correlator.next_id(), token=token))
        answer = await self._handshake_reply(ws, AUTHORIZATION_RESPONSE)
        assert isinstance(answer, AuthorizationResponse)
        if not answer.success:
            raise AuthorizationRejected(answer.reason or "Authorization refused")
        log.info("runtime.authorized", uuid=self.uuid, address=self.address, sponsored=token is not None)

    async def _handshake_reply(self, ws: ClientConnection, expected: str) -> Any:
        # The handshake replies are uncorrelated: the next frame without a correlationId is the answer.
        while True:
            raw = await ws.recv()
            self.stats.frames_received += 1
            frame = parse_frame(raw)
            if isinstance(frame, PushFrame):
                if frame.action != expected:
                    raise ProtocolError(f"Expected {expected} during the handshake, got {frame.action}")
                return parse_push(frame)

    # -------------------------------------------------------------------------------- sending

    async def _send_on(self, ws: ClientConnection, frame: dict[str, Any] | str) -> None:
        await self._send_text(ws, self._frame_text(frame))

    def _frame_text(self, frame: dict[str, Any] | str) -> str:
        text = frame if isinstance(frame, str) else encode(frame)
        limit = self.max_frame_bytes
        if limit is not None and len(text) > limit // 4 and _utf8_length(text) > limit:
            # The runtime closes a socket that sends it an oversized frame, and with it every app's channel.
            raise FrameTooLargeError(_utf8_length(text), limit)
        return text

    async def _send_text(self, ws: ClientConnection, text: str) -> None:
        await ws.send(text)
        self.stats.frames_sent += 1

    async def request(
        self,
        action: str,
        payload: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (every request owns its deadline)
    ) -> Any:
        """Send a request and return the reply's ``data``.

        Raises ``RuntimeNotConnectedError`` without a socket, ``RuntimeRequestError`` for a failure ack,
        ``RequestTimeoutError`` after ``timeout`` (default ``request_timeout``) seconds without an answer,
        ``ConnectionLostError`` if the socket closes first.
        """
        return await self.request_json(
            action, encode(payload if payload is not None else {}), timeout=timeout
        )

    async def request_json(
        self,
        action: str,
        payload_json: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (every request owns its deadline)
        sent: Callable[[], object] | None = None,
    ) -> Any:
        """``request`` with a payload that is already JSON text (a JSON object), e.g. one event encoded
        once and sent to every client of a channel. ``sent()`` runs once the frame is on the socket."""
        ws = self._ws
        if ws is None:
            raise RuntimeNotConnectedError(f"Not connected to the runtime ({self.state.value})")
        message_id = self._correlator.open(action)
        self.stats.requests += 1
        if _stdlib_log.isEnabledFor(logging.DEBUG):
            log.debug("runtime.request", action=action, message_id=message_id)
        try:
            await self._send_on(ws, encode_request(action, payload_json, message_id))
        except ConnectionClosed as exc:
            self._correlator.discard(message_id)
            self.stats.request_failures += 1
            raise ConnectionLostError() from exc
        except BaseException:
            self._correlator.discard(message_id)
            self.stats.request_failures += 1
            raise
        if sent is not None:
            sent()
        try:
            return await self._correlator.wait(message_id, timeout or self.request_timeout)
        except RequestTimeoutError:
            self.stats.request_timeouts += 1
            raise
        except (RuntimeRequestError, RuntimeNotConnectedError):
            self.stats.request_failures += 1
            raise

    async def request_each_json(
        self,
        action: str,
        payloads_json: Sequence[str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (every request owns its deadline)
    ) -> list[Any]:
        """One ``request_json`` per payload, all sent before any reply is awaited, under one deadline.

        For each payload in order: the reply's ``data``, or the exception that request failed with
        (returned, not raised): ``RuntimeRequestError``, ``RequestTimeoutError``, ``ConnectionLostError``
        for those the socket could not take, ``RuntimeNotConnectedError`` for all without a socket.
        """
        ws = self._ws
        if ws is None:
            reason = f"Not connected to the runtime ({self.state.value})"
            return [RuntimeNotConnectedError(reason) for _ in payloads_json]
        written = await self._write_each(ws, action, payloads_json)
        sent = [message_id for message_id in written if isinstance(message_id, int)]
        self.stats.requests += len(payloads_json)
        replies = iter(await self._correlator.wait_all(sent, timeout or self.request_timeout))
        outcomes = [next(replies) if isinstance(message_id, int) else message_id for message_id in written]
        for outcome in outcomes:
            if isinstance(outcome, RequestTimeoutError):
                self.stats.request_timeouts += 1
            elif isinstance(outcome, Exception):
                self.stats.request_failures += 1
        return outcomes

    async def send_each_json(
        self,
        action: str,
        payloads_json: Sequence[str],
        on_reply: Callable[[int, Any], object],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (every request owns its deadline)
    ) -> list[Exception | None]:
        """One request per payload, all written in one pass, returning without waiting for any reply.

        For each payload in order: ``None`` when its frame is on the socket, else why not (as
        ``request_each_json``). ``on_reply(index, outcome)`` runs later for each one sent, with the reply's
        ``data`` or the exception it failed with; one deadline for all, and no task per request. When this
        raises (cancelled mid-pass), ``on_reply`` never runs: the caller settles every payload itself.
        """
        ws = self._ws
        if ws is None:
            reason = f"Not connected to the runtime ({self.state.value})"
            return [RuntimeNotConnectedError(reason) for _ in payloads_json]
        abandoned: list[bool] = []

        def registered(index: int, message_id: int) -> None:
            self._correlator.on_reply(
                message_id, functools.partial(self._replied, on_reply, index, abandoned)
            )

        try:
            written = await self._write_each(ws, action, payloads_json, registered)
        except BaseException:
            abandoned.append(True)
            raise
        sent = [message_id for message_id in written if isinstance(message_id, int)]
        self.stats.requests += len(payloads_json)
        self.stats.request_failures += len(payloads_json) - len(sent)
        self._correlator.expire_together(sent, timeout or self.request_timeout)
        return [None if isinstance(message_id, int) else message_id for message_id in written]

    async def _write_each(
        self,
        ws: ClientConnection,
        action: str,
        payloads_json: Sequence[str],
        on_sent: Callable[[int, int], None] | None = None,
    ) -> list[int | Exception]:
        """Write one request per payload in one pass: for each, its message id (``on_sent(index, id)`` has
        run), or why it was not sent (``FrameTooLargeError``; ``ConnectionLostError`` for it and every one
        after once the socket closed). Cancelled mid-pass (a full socket buffer), the requests sent are
        forgotten at once rather than kept pending until the socket closes, and the cancellation raised."""
        written: list[int | Exception] = []
        try:
            for index, payload_json in enumerate(payloads_json):
                if written and isinstance(written[-1], ConnectionLostError):
                    written.append(ConnectionLostError())
                    continue
                message_id = self._correlator.open(action)
                try:
                    await self._send_on(ws, encode_request(action, payload_json, message_id))
                except ConnectionClosed:
                    self._correlator.discard(message_id)
                    written.append(ConnectionLostError())
                    continue
                except FrameTooLargeError as exc:
                    self._correlator.discard(message_id)
                    written.append(exc)
                    continue
                written.append(message_id)
                if on_sent is not None:
                    on_sent(index, message_id)
        except BaseException:
            for outcome in written:
                if isinstance(outcome, int):
                    self._correlator.discard(outcome)
            raise
        return written

    def _replied(
        self, on_reply: Callable[[int, Any], object], index: int, abandoned: list[bool], outcome: Any
    ) -> None:
        if abandoned:
            return
        if isinstance(outcome, RequestTimeoutError):
            self.stats.request_timeouts += 1
        elif isinstance(outcome, Exception):
            self.stats.request_failures += 1
        on_reply(index, outcome)

    async def send(self, frame: dict[str, Any] | str) -> None:
        """Send a frame that gets no answer (a raw ``ackToSender`` reply to a channel push), as a dict or
        as its JSON text."""
        ws = self._ws
        if ws is None:
            raise RuntimeNotConnectedError(f"Not connected to the runtime ({self.state.value})")
        try:
            await self._send_on(ws, frame)
        except ConnectionClosed as exc:
            raise ConnectionLostError() from exc

    def send_soon(self, frame: dict[str, Any] | str) -> bool:
        """Send a frame that gets no answer (as ``send``) without awaiting: ``True`` when it is written now.

        It is written at once, through the websocket's Sans-I/O layer, when the socket can take it without
        waiting; otherwise (the transport paused for flow control, the transport closing, another send
        under way, or frames queued before it) it is queued behind them, sent by a task the connection owns,
        and ``False`` returned: a frame written now never overtakes one queued earlier. Raises, before
        anything is written, what ``send`` raises: ``FrameTooLargeError`` or the encoder's error for a frame
        that cannot be sent, ``RuntimeNotConnectedError`` without a socket, ``ConnectionLostError`` when the
        socket is closing or closed.
        """
        ws = self._ws
        if ws is None:
            raise RuntimeNotConnectedError(f"Not connected to the runtime ({self.state.value})")
        text = self._frame_text(frame)
        if ws.protocol.state is not State.OPEN:
            raise ConnectionLostError()
        if self._write_now(ws, text):
            return True
        self._queued += 1
        if self._queued >= MAX_QUEUED_FRAMES:
            self._room.clear()
        task = self.spawn(self._send_queued(ws, text), name="openfin-send-queued")
        task.add_done_callback(self._unqueue)
        return False

    def _write_now(self, ws: ClientConnection, text: str) -> bool:
        """Write ``text`` through the websocket's Sans-I/O layer when the socket can take it without waiting:
        ``False`` (nothing written) when the connection is not open, the transport is paused for flow control
        or closing, another send is under way, or frames are queued before it; ``ws.send`` waits for room
        (``drain``) and for a fragmented send to end, and so does the caller then. ``ConnectionLostError``
        when the transport fails the write (the connection is given up, as ``ws.send`` does)."""
        if (
            self._queued
            or ws.protocol.state is not State.OPEN
            or ws.paused
            or ws.send_in_progress is not None
            or ws.transport.is_closing()
        ):
            return False
        ws.protocol.send_text(text.encode())
        try:
            ws.send_data()
        except Exception as exc:
            ws.set_connection_exc(exc)
            ws.transport.abort()
            raise ConnectionLostError() from exc
        self.stats.frames_sent += 1
        return True

    async def _send_queued(self, ws: ClientConnection, text: str) -> None:
        try:
            await self._send_text(ws, text)
        except ConnectionClosed:
            # The runtime fails whatever was waiting on this frame when the socket goes.
            log.info("runtime.send_undeliverable")

    def _unqueue(self, _task: asyncio.Task[Any]) -> None:
        self._queued -= 1
        if self._queued < MAX_QUEUED_FRAMES:
            self._room.set()

    @property
    def reading_paused(self) -> bool:
        """Whether the reader waits for queued frames to reach the socket before it takes the next message."""
        return not self._room.is_set()

    # ------------------------------------------------------------------------------------ reading

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                self.stats.frames_received += 1
                try:
                    self._on_frame(raw)
                except Exception:
                    # Whatever one frame does, the reader serves the next: a reader that ended would leave
                    # the socket open and deaf.
                    self.stats.errors += 1
                    log.exception("runtime.frame_failed")
                if not self._room.is_set():
                    await self._room.wait()

    def _on_frame(self, raw: str | bytes) -> None:
        routed = self._router.route(raw)
        if routed is None:
            return
        if isinstance(routed, ProviderMessage):
            rest = routed.provider.serve_message(routed.push)
            if rest is not None:
                self.spawn(rest, name=routed.task_name)
        elif isinstance(routed, MessageDelivery):
            self.spawn(routed.endpoint.handle_message(routed.push), name=routed.task_name)
        elif isinstance(routed, ConnectionDelivery):
            self.spawn(routed.provider.handle_connection(routed.push), name=routed.task_name)
        else:
            self.spawn(self.send(routed.frame), name=routed.task_name)

    # ------------------------------------------------------------------------- channel endpoints

    def expect_provider(self, channel_name: str, endpoint: ProviderEndpoint | None) -> None:
        """Route connections to ``channel_name`` to ``endpoint`` while its create-channel is in flight
        (``None``: the create is over)."""
        self._router.expect_provider(channel_name, endpoint)

    def register_provider(self, channel_id: str, endpoint: ProviderEndpoint) -> None:
        """Route pushes for ``channel_id`` to ``endpoint`` (our provider)."""
        self._router.register_provider(channel_id, endpoint)

    def unregister_provider(self, channel_id: str) -> None:
        """Stop routing pushes for ``channel_id``."""
        self._router.unregister_provider(channel_id)

    def register_client(self, endpoint_id: str, endpoint: ClientEndpoint) -> None:
        """Route pushes for our client connection ``endpoint_id`` to ``endpoint``."""
        self._router.register_client(endpoint_id, endpoint)

    def unregister_client(self, endpoint_id: str) -> None:
        """Stop routing pushes for ``endpoint_id``."""
        self._router.unregister_client(endpoint_id)

    # ------------------------------------------------------------------------------ desktop events

    async def subscribe_event(
        self,
        topic: str,
        type_: str,
        listener: EventListener,
        *,
        uuid: str | None = None,
        name: str | None = None,
    ) -> EventSubscription:
        """Listen to desktop events ``topic``/``type_`` (of entity ``uuid``/``name`` when given).

        The runtime subscription is made once per key and replayed after every reconnect.
        """
        key: EventKey = (topic, type_, uuid, name)
        subscription = EventSubscription(self, key, listener)
        if self._router.events.add(subscription):
            try:
                await self.request("subscribe-to-desktop-event", event_payload(key))
            except BaseException:
                self._router.events.remove(subscription)
                raise
        return subscription

    async def unsubscribe_event(self, subscription: EventSubscription) -> None:
        """Remove ``subscription``'s listener, and the runtime subscription with the last of its key."""
        if self._router.events.remove(subscription) and self._ws is not None:
            with contextlib.suppress(RuntimeRequestError, RuntimeNotConnectedError, RequestTimeoutError):
                await self.request("unsubscribe-to-desktop-event", event_payload(subscription.key))

    # ---------------------------------------------------------------------------------- reconnect

    async def _supervise(self) -> None:
        while True:
            if self._reader is not None:
                await asyncio.gather(self._reader, return_exceptions=True)
            self._ws = None
            self._correlator.fail_all(ConnectionLostError())
            if self._closing.is_set():
                return
            log.warning("runtime.connection_lost", address=self.address)
            for component in list(self._restorables):
                try:
                    component.connection_lost()
                except Exception:
                    self.stats.errors += 1
                    log.exception("runtime.connection_lost_step_failed", component=type(component).__name__)
            if not self.reconnect or not await self._reconnect():
                self._set_state(RuntimeConnectionState.CLOSED)
                return
            self._set_state(RuntimeConnectionState.RESTORING)
            if not await self._restore():
                continue
            self.stats.reconnects += 1
            self._set_state(RuntimeConnectionState.CONNECTED)

    async def _reconnect(self) -> bool:
        self._set_state(RuntimeConnectionState.RECONNECTING)
        for delay in self.backoff.delays():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._closing.wait()
            if self._closing.is_set():
                return False
            try:
                await self._open(token=None)
            except Exception as exc:
                self.last_error = exc
                if not should_reconnect(exc):
                    log.error("runtime.reconnect_abandoned", error=str(exc))
                    return False
                log.info("runtime.reconnect_failed", error=str(exc))
                continue
            return True
        return False

    async def _restore(self) -> bool:
        """Re-create what the runtime forgot, retrying each part that fails (with backoff) until all is
        back: ``True`` then; ``False`` when the socket went away again or the connection is closing."""
        subscriptions = self._router.events.keys()
        components = list(self._restorables)
        delays = self.backoff.delays()
        while True:
            subscriptions = [key for key in subscriptions if not await self._resubscribe(key)]
            components = [component for component in components if not await self._restore_one(component)]
            if not subscriptions and not components:
                return True
            log.warning(
                "runtime.restore_incomplete",
                subscriptions=[f"{key[0]}/{key[1]}" for key in subscriptions],
                components=[type(component).__name__ for component in components],
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(next(delays)):
                    await self._closing.wait()
            if self._closing.is_set() or self._reader is None or self._reader.done():
                return False
            # Parts dropped in the meantime (an unsubscribe, a detached component) need no restoring.
            subscriptions = [key for key in subscriptions if key in self._router.events]
            components = [component for component in components if component in self._restorables]

    async def _resubscribe(self, key: EventKey) -> bool:
        try:
            await self.request("subscribe-to-desktop-event", event_payload(key))
        except Exception as exc:
            self.stats.restore_failures += 1
            log.warning("runtime.resubscribe_failed", topic=key[0], type=key[1], error=str(exc))
            return False
        return True

    async def _restore_one(self, component: Restorable) -> bool:
        try:
            await component.restore()
        except Exception as exc:
            self.stats.restore_failures += 1
            log.warning("runtime.restore_failed", component=type(component).__name__, error=str(exc))
            return False
        return True


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def write_token_file(path: Path, token: str) -> None:
    """Write exactly ``token`` into ``path`` (overwriting it), as the file-token handshake requires.

    Bytes, not text mode, so that no platform adds a newline translation or a byte-order mark.
    """
    path.write_bytes(token.encode("utf-8"))
