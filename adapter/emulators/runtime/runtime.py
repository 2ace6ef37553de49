"""The runtime emulator's protocol core: frames in, frames out, per connection, with no sockets.

The websocket layer (``server.py``) only moves text: it calls ``Runtime.connect(sink)`` for each socket,
``Runtime.receive(connection, text)`` for each text frame and ``Runtime.disconnect(connection)`` when the
socket closes; the runtime answers through ``sink.send(frame)`` and ends a socket with ``sink.close()``.
Tests drive the same three calls with a list as the sink.

In-process connections (contract with the built-in interop broker)
--------------------------------------------------------------------
``Runtime.open_internal_connection(uuid: str, *, entity_type: str = "window") -> InternalConnection``
joins the runtime as an already authorized party with identity ``{uuid, name: uuid}`` (``isExternal:
false``); it raises ``ActionRefusedError`` when ``uuid`` is taken. Call it on the running event loop.
``InternalConnection`` offers:

- ``identity -> dict``: ``{"uuid": uuid, "name": uuid}``.
- ``async request(action: str, payload: dict | None = None, *, timeout: float = 30.0) -> Any``: a correlated
  request (``messageId`` from 1); returns the ack's ``payload.data`` (``None`` for void calls). Raises
  ``RuntimeRequestError(action, reason, error)`` on a failure ack and ``TimeoutError`` after ``timeout``.
  E.g. ``await conn.request("create-channel", {"channelName": "interop-broker-x"})`` -> providerIdentity.
- ``send_requests(requests: Iterable[tuple[str, dict | None]], *, timeout: float = 30.0) ->
  list[asyncio.Future]``: several requests sent at once, in order, one future each that settles as ``request``
  would return or raise (one timer for all, no task per request); the broker's fan-out of a context.
- ``async send_raw(frame: dict) -> None``: a frame with no reply expected, e.g. the echoed ackToSender
  ``{"action": "send-channel-result", "payload": {... "payload": {"result": ...}}}``.
- ``pushes() -> AsyncIterator[dict]``: every uncorrelated frame sent to this party, in order:
  ``process-channel-connection``, ``process-channel-message``, ``process-desktop-event``, ``process-message``.
  Ends when the connection closes.
- ``closed -> bool``; ``async aclose()``: leave, which destroys its channels (``disconnected`` events) as a
  closing socket would.

``server.serve(..., broker=PLATFORM_UUID)`` calls ``adapter.emulators.runtime.broker.start_broker(runtime,
platform_uuid) -> Broker`` (``Broker`` has ``async aclose()``) after the runtime is created and before READY.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import platform
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

import httpx
import structlog
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapter.emulators.runtime import auth
from adapter.emulators.runtime.analytics import is_analytics
from adapter.emulators.runtime.channels import ChannelBus
from adapter.emulators.runtime.client_link import ClientLink, PendingAuth, Sink
from adapter.emulators.runtime.errors import ActionRefusedError
from adapter.emulators.runtime.events import DesktopEvents, Subscription
from adapter.emulators.runtime.frames import (
    ClientFrame,
    Frame,
    FrameError,
    ack,
    client_frame,
    loggable,
    nack,
    parse_client_frame,
    push,
)
from adapter.emulators.runtime.iab import InterAppBus
from adapter.emulators.runtime.internal import InternalConnection, InternalSink
from adapter.emulators.runtime.processes import ExternalProcesses
from adapter.emulators.runtime.windows import Applications, monitor_info

log = structlog.get_logger(__name__)
_frames_log = logging.getLogger(__name__)

AUTH_ACTIONS = frozenset({"request-external-authorization", "request-authorization"})


class RuntimeSettings(BaseSettings):
    """Choices the protocol leaves open, each overridable by ``RUNTIME_EMULATOR_<NAME>``; "open question N" is
    row N of the table in docs/emulators/runtime.md, "What the protocol leaves open"."""

    model_config = SettingsConfigDict(env_prefix="RUNTIME_EMULATOR_", frozen=True)

    version: str = "42.138.103.2"
    """What ``get-version`` and ``get-runtime-info`` report (a v42 runtime, matching node-adapter 42)."""
    security_realm: str = ""
    channel_id_style: Literal["guid", "path"] = "guid"
    """``guid`` as at CORE HEAD, or ``path`` = ``<uuid>/<name>/<channelName>`` (open question 1)."""
    relay_channel_errors: bool = True
    """Relay ``error`` with ``reason`` on failed channel results (open question 3)."""
    ack_channel_results: bool = False
    """Ack a ``send-channel-result`` that carries a ``messageId`` (open question 6; CORE acks nothing)."""


Handler = Callable[[ClientLink, dict[str, Any], int | None], Any]
AsyncHandler = Callable[[ClientLink, dict[str, Any]], Awaitable[Any]]
DEFERRED = object()
"""A handler's return value meaning: the handler replied itself, or the reply comes later (a relay)."""


class Runtime:
    """All runtime state: connections, handshakes, events, channels, the bus, applications, processes."""

    def __init__(
        self,
        settings: RuntimeSettings | None = None,
        *,
        token_files: auth.TokenFiles | None = None,
        assets: dict[str, str] | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        port: int = 0,
    ) -> None:
        self.settings = settings or RuntimeSettings()
        self.port = port
        self.token_files = token_files or auth.TokenFiles.in_private_temp_dir()
        self.events = DesktopEvents()
        self.channels = ChannelBus(
            self.events,
            channel_id_style=self.settings.channel_id_style,
            relay_errors=self.settings.relay_channel_errors,
        )
        self.bus = InterAppBus(lambda: self._connections.values())
        self.applications = Applications(self.events, transport=http_transport)
        self.processes = ExternalProcesses(assets or {}, self.events)
        self._registered = auth.RegisteredTokens()
        self._connections: dict[int, ClientLink] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Handler] = {
            "register-external-connection": self._register_external_connection,
            "subscribe-to-desktop-event": self._subscribe_event,
            "unsubscribe-to-desktop-event": self._unsubscribe_event,
            "create-channel": self._create_channel,
            "connect-to-channel": self._connect_to_channel,
            "send-channel-message": self._send_channel_message,
            "send-channel-result": self._send_channel_result,
            "disconnect-from-channel": lambda c, p, _m: self.channels.disconnect(c, p),
            "destroy-channel": lambda c, p, _m: self.channels.destroy(c, p),
            "get-all-channels": lambda _c, _p, _m: self.channels.all_channels(),
            "get-version": lambda _c, _p, _m: self.settings.version,
            "get-runtime-info": lambda _c, _p, _m: self.runtime_info(),
            "get-info": self._get_info,
            "get-entity-info": self._get_entity_info,
            "get-window-info": lambda _c, p, _m: self.applications.window_info(p),
            "show-window": lambda _c, p, _m: self.applications.set_showing(p, True),
            "hide-window": lambda _c, p, _m: self.applications.set_showing(p, False),
            "focus-window": lambda _c, p, _m: self.applications.focus(p),
            "is-window-showing": lambda _c, p, _m: self.applications.is_showing(p),
            "get-window-bounds": lambda _c, p, _m: self.applications.window_bounds(p),
            "set-window-bounds": lambda _c, p, _m: self.applications.set_bounds(p),
            "get-child-windows": lambda _c, p, _m: self.applications.child_window_names(p),
            "get-monitor-info": lambda _c, _p, _m: monitor_info(),
            # fin.System.registerUsage (integration packages report themselves); the runtime only records it.
            "register-usage": lambda _c, _p, _m: None,
            "subscribe": lambda c, p, _m: self.bus.subscribe(c, p),
            "unsubscribe": lambda c, p, _m: self.bus.unsubscribe(c, p),
            "publish-message": self._publish_message,
            "send-message": self._send_message,
            "create-application": self._create_application,
            "run-application": lambda _c, p, _m: self.applications.run(p),
            "close-window": lambda _c, p, _m: self.applications.close_window(p),
            "close-application": lambda _c, p, _m: self.applications.close_application(p),
            "destroy-application": lambda _c, p, _m: self.applications.destroy(p),
            "open-url-with-browser": self._open_url_with_browser,
            "emulator-get-browser-urls": lambda _c, _p, _m: list(self.applications.opened_in_browser),
        }
        self._async_handlers: dict[str, AsyncHandler] = {
            "launch-external-process": self.processes.launch,
            "terminate-external-process": lambda _c, p: self.processes.terminate(p),
            "navigate-window": lambda _c, p: self.applications.navigate(p),
            "emulator-submit-form": lambda _c, p: self.applications.submit_form(p),
            "emulator-create-window": self._create_child_window,
        }

    # -- the three calls of the transport layer --------------------------------------------------------------

    def connect(self, sink: Sink) -> ClientLink:
        """A new socket: unauthorized until its handshake succeeds."""
        connection = ClientLink(id=next(self._ids), sink=sink)
        self._connections[connection.id] = connection
        log.debug("connection.opened", connection=connection.id)
        return connection

    def receive(self, connection: ClientLink, text: str | bytes) -> None:
        """One text frame from ``connection``; malformed frames are refused, never fatal."""
        try:
            frame = parse_client_frame(text)
        except FrameError as exc:
            log.warning("frame.malformed", connection=connection.id, reason=exc.reason)
            if exc.message_id is not None:
                connection.send(nack(exc.message_id, exc.reason))
            return
        self.handle(connection, frame)

    def disconnect(self, connection: ClientLink) -> None:
        """The socket closed: free everything it held and tell the others (channel events)."""
        if connection.closed:
            return
        connection.closed = True
        self._connections.pop(connection.id, None)
        if connection.pending_auth is not None:
            self.token_files.discard(connection.pending_auth.file, connection.pending_auth.token)
            connection.pending_auth = None
        self.events.drop(connection)
        self.bus.drop(connection)
        self.channels.drop(connection)
        self.processes.drop(connection)
        if connection.uuid is not None:
            self.applications.close_children_of(connection.uuid)
        connection.sink.close()
        if connection.uuid is not None:
            log.info("connection.closed", connection=connection.id, uuid=connection.uuid)
            if connection.is_external:
                self.events.emit("external-application", "disconnected", {"uuid": connection.uuid})
                self.events.emit("system", "external-application-disconnected", {"uuid": connection.uuid})

    # -- in-process parties ----------------------------------------------------------------------------------

    def open_internal_connection(self, uuid: str, *, entity_type: str = "window") -> InternalConnection:
        """Join as an authorized in-runtime party (see the module docstring for the contract)."""
        if self.uuid_in_use(uuid):
            raise ActionRefusedError(auth.duplicate_uuid(uuid))
        sink = InternalSink()
        connection = ClientLink(
            id=next(self._ids), sink=sink, internal=True, entity_type=entity_type, uuid=uuid
        )
        self._connections[connection.id] = connection
        log.info("connection.internal", uuid=uuid)
        return InternalConnection(connection, sink, self._handle_raw, self.disconnect)

    # -- queries ---------------------------------------------------------------------------------------------

    @property
    def connections(self) -> list[ClientLink]:
        """Every open connection, authorized or not."""
        return list(self._connections.values())

    def uuid_in_use(self, uuid: str) -> bool:
        """True when a connection or a running application holds ``uuid``."""
        return self.applications.is_running(uuid) or any(c.uuid == uuid for c in self._connections.values())

    def runtime_info(self) -> dict[str, Any]:
        """``get-runtime-info``: where clients reach this runtime and what it is."""
        return {
            "port": self.port,
            "version": self.settings.version,
            "securityRealm": self.settings.security_realm,
            "manifestUrl": "",
            "architecture": platform.machine() or "x64",
            "cachePath": str(self.token_files.directory),
            "args": {},
        }

    async def aclose(self) -> None:
        """Close every connection, end child processes and navigations, remove the token directory."""
        for connection in list(self._connections.values()):
            self.disconnect(connection)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.processes.aclose()
        await self.applications.aclose()
        self.token_files.remove()

    # -- dispatch --------------------------------------------------------------------------------------------

    def _handle_raw(self, connection: ClientLink, raw: Frame) -> None:
        try:
            frame = client_frame(raw)
        except ValueError as exc:
            log.warning("frame.malformed", connection=connection.id, reason=str(exc))
            return
        self.handle(connection, frame)

    def handle(self, connection: ClientLink, frame: ClientFrame) -> None:
        """Act on one parsed frame; every request gets exactly one reply (now or, for relays, later)."""
        if connection.closed:
            return
        action, payload, message_id = frame.action, frame.payload, frame.message_id
        # The masked copy costs more than routing the frame: build it only when debug lines are written.
        if _frames_log.isEnabledFor(logging.DEBUG):
            log.debug(
                "frame.in",
                connection=connection.id,
                uuid=connection.uuid,
                frame=loggable(frame.raw),
            )
        if action in AUTH_ACTIONS:
            self._authorize(connection, action, payload)
            return
        if not connection.authorized:
            self._reply(connection, message_id, nack_reason=auth.NOT_AUTHENTICATED)
            return
        async_handler = self._async_handlers.get(action)
        if async_handler is not None:
            self._spawn(self._run_async(connection, action, async_handler(connection, payload), message_id))
            return
        handler = self._handlers.get(action)
        if handler is None:
            if is_analytics(action):
                self._reply(connection, message_id)
            else:
                reason = f"API call {action} not implemented in runtime version: {self.settings.version}."
                self._reply(connection, message_id, nack_reason=reason)
            return
        try:
            data = handler(connection, payload, message_id)
        except ActionRefusedError as exc:
            self._reply(connection, message_id, nack_reason=exc.reason, error=exc.error)
            return
        except Exception as exc:
            log.exception("action.crashed", action=action)
            self._reply(connection, message_id, nack_reason=f"Internal runtime error in {action}: {exc}")
            return
        if data is not DEFERRED:
            self._reply(connection, message_id, data=data)

    def _reply(
        self,
        connection: ClientLink,
        message_id: int | None,
        *,
        data: Any = None,
        nack_reason: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        if message_id is None:
            return
        connection.send(
            ack(message_id, data) if nack_reason is None else nack(message_id, nack_reason, error)
        )

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_async(
        self, connection: ClientLink, action: str, work: Awaitable[Any], message_id: int | None
    ) -> None:
        try:
            data = await work
        except ActionRefusedError as exc:
            self._reply(connection, message_id, nack_reason=exc.reason, error=exc.error)
        except Exception as exc:
            log.exception("action.crashed", action=action)
            self._reply(connection, message_id, nack_reason=f"Internal runtime error in {action}: {exc}")
        else:
            self._reply(connection, message_id, data=data)

    # -- handshake -------------------------------------------------------------------------------------------

    def _authorize(self, connection: ClientLink, action: str, payload: dict[str, Any]) -> None:
        if connection.authorized:
            # A second handshake on an authorized socket: refuse without closing what works.
            connection.send(
                push("authorization-response", {"success": False, "reason": "Already authorized"})
            )
            return
        uuid = payload.get("uuid")
        if not isinstance(uuid, str) or not uuid:
            self._refuse(connection, "Invalid UUID: a uuid string is required")
            return
        if action == "request-external-authorization":
            if connection.pending_auth is not None:
                self.token_files.discard(connection.pending_auth.file, connection.pending_auth.token)
            file, token = self.token_files.issue()
            connection.pending_auth = PendingAuth(uuid, file, token)
            connection.send(
                push("external-authorization-response", {"file": str(file), "token": token, "uuid": uuid})
            )
            return
        reason = self._check_credentials(connection, uuid, payload)
        if reason is not None:
            self._refuse(connection, reason)
            return
        connection.uuid = uuid
        log.info("connection.authorized", connection=connection.id, uuid=uuid)
        connection.send(push("authorization-response", {"success": True}))
        self.events.emit("external-application", "connected", {"uuid": uuid})
        self.events.emit("system", "external-application-connected", {"uuid": uuid})

    def _check_credentials(self, connection: ClientLink, uuid: str, payload: dict[str, Any]) -> str | None:
        if self.uuid_in_use(uuid):
            return auth.duplicate_uuid(uuid)
        token = payload.get("token")
        if isinstance(token, str) and payload.get("type") != "file-token":
            return None if self._registered.check(uuid, token) else auth.INVALID_TOKEN
        pending = connection.pending_auth
        if pending is None or pending.uuid != uuid:
            return auth.invalid_uuid(uuid)
        connection.pending_auth = None
        return None if self.token_files.verify(Path(pending.file), pending.token) else auth.INVALID_TOKEN

    def _refuse(self, connection: ClientLink, reason: str) -> None:
        log.warning("connection.refused", connection=connection.id, reason=reason)
        connection.send(push("authorization-response", {"success": False, "reason": reason}))
        self.disconnect(connection)

    # -- handlers --------------------------------------------------------------------------------------------

    def _publish_message(self, connection: ClientLink, payload: dict[str, Any], _m: int | None) -> None:
        delivered = self.bus.publish(connection, payload)
        log.debug("bus.published", uuid=connection.uuid, delivered=delivered)

    def _send_message(self, connection: ClientLink, payload: dict[str, Any], _m: int | None) -> None:
        delivered = self.bus.send(connection, payload)
        log.debug("bus.sent", uuid=connection.uuid, delivered=delivered)

    def _register_external_connection(self, _c: ClientLink, payload: dict[str, Any], _m: int | None) -> Any:
        uuid = payload.get("uuid")
        if not isinstance(uuid, str) or not uuid:
            raise ActionRefusedError("Invalid payload: bad or missing uuid")
        return {"uuid": uuid, "token": self._registered.register(uuid)}

    def _subscribe_event(self, connection: ClientLink, payload: dict[str, Any], _m: int | None) -> None:
        try:
            self.events.subscribe(connection, Subscription.from_payload(payload))
        except ValueError as exc:
            raise ActionRefusedError(f"Invalid payload: {exc}") from None

    def _unsubscribe_event(self, connection: ClientLink, payload: dict[str, Any], _m: int | None) -> None:
        try:
            self.events.unsubscribe(connection, Subscription.from_payload(payload))
        except ValueError as exc:
            raise ActionRefusedError(f"Invalid payload: {exc}") from None

    def _create_channel(self, connection: ClientLink, payload: dict[str, Any], message_id: int | None) -> Any:
        provider_identity = self.channels.create(connection, payload)
        self._reply(connection, message_id, data=provider_identity)
        self.channels.announce(provider_identity)
        return DEFERRED

    def _connect_to_channel(
        self, connection: ClientLink, payload: dict[str, Any], message_id: int | None
    ) -> Any:
        if message_id is None:
            raise ActionRefusedError("connect-to-channel needs a messageId")
        self.channels.connect(connection, payload, message_id)
        return DEFERRED

    def _send_channel_message(
        self, connection: ClientLink, payload: dict[str, Any], message_id: int | None
    ) -> Any:
        if message_id is None:
            raise ActionRefusedError("send-channel-message needs a messageId")
        self.channels.send_message(connection, payload, message_id)
        return DEFERRED

    def _send_channel_result(
        self, connection: ClientLink, payload: dict[str, Any], message_id: int | None
    ) -> Any:
        if "destinationToken" not in payload:
            raise ActionRefusedError("send-channel-result needs a destinationToken")
        self.channels.relay_result(connection, payload)
        return None if self.settings.ack_channel_results else DEFERRED

    def _get_info(self, connection: ClientLink, payload: dict[str, Any], _m: int | None) -> Any:
        uuid = payload.get("uuid", connection.uuid)
        info = self.applications.app_info(str(uuid), self.settings.version)
        if info is None:
            raise ActionRefusedError(f"Application with specified UUID does not exist: {uuid}")
        return info

    def _get_entity_info(self, _c: ClientLink, payload: dict[str, Any], _m: int | None) -> Any:
        uuid, name = payload.get("uuid"), payload.get("name") or payload.get("uuid")
        for other in self._connections.values():
            if other.uuid == uuid and name == uuid:
                return {"uuid": uuid, "name": name, "entityType": other.entity_type}
        if (uuid, name) in self.applications.window_identities():
            return {
                "uuid": uuid,
                "name": name,
                "entityType": "window",
                "parent": {"uuid": uuid, "name": uuid},
            }
        raise ActionRefusedError(f"No entity found with uuid {uuid} and name {name}")

    def _create_application(self, connection: ClientLink, payload: dict[str, Any], _m: int | None) -> None:
        uuid = payload.get("uuid")
        if isinstance(uuid, str) and any(c.uuid == uuid for c in self._connections.values()):
            raise ActionRefusedError(auth.duplicate_uuid(uuid))
        self.applications.create(connection.uuid, payload)

    async def _create_child_window(self, connection: ClientLink, payload: dict[str, Any]) -> None:
        assert connection.uuid is not None  # only authorized connections reach a handler
        await self.applications.create_child(connection.uuid, payload)

    def _open_url_with_browser(self, connection: ClientLink, payload: dict[str, Any], _m: int | None) -> None:
        url = payload.get("url")
        if not isinstance(url, str) or not url:
            raise ActionRefusedError("Invalid payload: bad or missing url")
        log.info("browser.open", uuid=connection.uuid)
        self.applications.opened_in_browser.append(url)
