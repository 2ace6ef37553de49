"""The adapter process: wires the OpenFin side to the ServiceNow side and supervises both.

Start-up order: connect to the runtime, create the channel with its actions, join the platform's interop
broker (session context group ``servicenow``, the four intents), then print ``READY channel <name>``.
The process runs until it is told to stop, or until the runtime it serves has been gone for longer than
``reconnect_grace`` (its launcher closed for good). Shutdown destroys the channel, leaves the broker and
revokes every ServiceNow login.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import httpx
import structlog
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from adapter import __version__
from adapter.bridge.access import AccessDeniedError, AccessPolicy, ChannelConnect
from adapter.bridge.actions import ServiceNowActions
from adapter.bridge.broadcast import ChangeBroadcaster, TablePolling
from adapter.bridge.fairness import RequestGate
from adapter.bridge.health import AdapterHealth
from adapter.bridge.intents import HANDLED_INTENTS, IntentHandlers
from adapter.bridge.publisher import EventPublisher
from adapter.bridge.search import RecordSearch
from adapter.bridge.windows import RuntimeAuthWindowHost
from adapter.lifecycle import StartupError, announce_ready
from adapter.openfin import (
    AuthorizationRejected,
    ChannelConnectionRejected,
    ChannelProvider,
    ClientIdentity,
    InteropClient,
    OpenFinError,
    ProtocolError,
    RuntimeCalls,
    RuntimeConnection,
    RuntimeConnectionState,
    SessionContextGroup,
)
from adapter.openfin.discovery import (
    DEFAULT_TIMEOUT,
    DiscoveryRequest,
    PortDiscoveryError,
    RvmNotFoundError,
    discover_runtime,
    find_rvm,
)
from adapter.openfin.reconnect import Backoff
from adapter.servicenow.authorizers import Authorizer, BrowserAuthorizer, HttpAuthorizer, WindowAuthorizer
from adapter.servicenow.connection import REST_API_PATHS, ConnectionOptions
from adapter.servicenow.manager import ConnectionManager
from adapter.servicenow.token_store import KeyringTokenStore
from adapter.servicenow.transport import Network, TransportRegistry, warn_if_plain_http
from adapter.settings import AdapterSettings

log = structlog.get_logger(__name__)

DEFAULT_RUNTIME_ADDRESS = "ws://127.0.0.1:9696"
SESSION_CONTEXT_GROUP = "servicenow"
BROKER_RETRY = Backoff(initial=1.0, cap=30.0)
"""How often joining a broker that failed at start-up is tried again."""


async def runtime_address(
    settings: AdapterSettings,
    *,
    discovery_timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Where the runtime is, first answer wins; one log line says what was tried and what each step gave.

    1. ``--runtime-address`` (what the manifest's launcher passes);
    2. port discovery through the RVM (Windows, macOS, or ``--rvm-path``), when ``--runtime-version`` names
       the platform's runtime: the running runtime of that version and realm reports its port;
    3. ``ws://127.0.0.1:9696``, the runtime's customary port.
    """
    if settings.runtime_address:
        return settings.runtime_address
    tried = ["--runtime-address: not set"]
    address = await _discover(settings, tried, discovery_timeout)
    if address is not None:
        log.info("runtime.address_discovered", address=address, tried=tried)
        return address
    tried.append(f"{DEFAULT_RUNTIME_ADDRESS}: used, the last resort")
    log.warning(
        "runtime.address_defaulted",
        address=DEFAULT_RUNTIME_ADDRESS,
        tried=tried,
        hint="launch through manifests/provider/launch-adapter.mjs, which passes the runtime's port",
    )
    return DEFAULT_RUNTIME_ADDRESS


async def _discover(settings: AdapterSettings, tried: list[str], timeout: float) -> str | None:  # noqa: ASYNC109
    if not settings.runtime_version:
        tried.append("port discovery: skipped, no --runtime-version")
        return None
    try:
        rvm = find_rvm(settings.rvm_path)
    except RvmNotFoundError as error:
        tried.append(f"port discovery: {error}")
        return None
    request = DiscoveryRequest(settings.runtime_version, settings.security_realm)
    try:
        info = await discover_runtime(request, rvm, timeout=timeout)
    except PortDiscoveryError as error:
        tried.append(f"port discovery with {rvm}: {error}")
        return None
    # 127.0.0.1, not localhost: the runtime listens on IPv4 loopback, and localhost may resolve to ::1 first.
    address = f"ws://127.0.0.1:{info.port}"
    tried.append(f"port discovery with {rvm}: runtime {info.version or '?'} reported {address}")
    return address


def explain_start_failure(error: Exception, address: str, uuid: str) -> str:
    """One sentence for an operator: why the adapter could not join the runtime at ``address``."""
    if isinstance(error, StartupError):
        return str(error)
    if isinstance(error, InvalidStatus):
        return (
            f"{address} answered HTTP {error.response.status_code} instead of opening a websocket: "
            "it is not an OpenFin runtime's port (check --runtime-address)"
        )
    if isinstance(error, InvalidURI):
        return f"{address} is not a usable websocket address: {error}"
    if isinstance(error, InvalidHandshake):
        return f"{address} did not open a websocket ({error}): it is not an OpenFin runtime's port"
    if isinstance(error, AuthorizationRejected):
        return f"the runtime at {address} refused to let us in as {uuid!r}: {error.reason}"
    if isinstance(error, ProtocolError):
        return f"the runtime at {address} answered the start-up handshake with what we cannot use: {error}"
    if isinstance(error, TimeoutError):
        return f"the runtime at {address} did not answer in time; is it an OpenFin runtime, and is it busy?"
    if isinstance(error, ConnectionRefusedError):
        return f"nothing is listening at {address}: is the OpenFin runtime running, and is that its port?"
    if isinstance(error, OSError):
        return f"cannot reach the runtime at {address}: {error.strerror or error}"
    if isinstance(error, OpenFinError):
        return f"the runtime at {address} refused to start the adapter: {error}"
    return f"could not start against the runtime at {address}: {type(error).__name__}: {error}"


class AdapterService:
    """Everything the ``run`` command starts, owned in one place."""

    def __init__(self, settings: AdapterSettings) -> None:
        self.settings = settings
        token = settings.token.get_secret_value() if settings.token else None
        # The address is settled in start(), where port discovery can run.
        self.runtime = RuntimeConnection(
            settings.runtime_address or DEFAULT_RUNTIME_ADDRESS,
            settings.uuid,
            token=token,
            max_frame_bytes=settings.max_frame_bytes,
            max_json_depth=settings.max_json_depth,
        )
        self.calls = RuntimeCalls(self.runtime)
        self.policy = AccessPolicy(
            settings.allow_app, intents=settings.intents, trust_intent_source=settings.trust_intent_source
        )
        if settings.instance_url:
            warn_if_plain_http(settings.instance_url)
        self.manager = ConnectionManager(
            self._authorizer(),
            options=ConnectionOptions(
                mode=settings.token_endpoint,
                timeout=httpx.Timeout(settings.request_timeout, connect=10.0),
                max_request_body=settings.max_request_body,
                allowed_paths=(*REST_API_PATHS, *settings.allow_path),
                change_read_window=settings.change_read_window,
            ),
            transports=TransportRegistry(
                network=Network.configured(
                    ca_bundle=settings.ca_bundle,
                    proxy=settings.proxy.get_secret_value() if settings.proxy else None,
                    max_response_body=settings.max_response_body,
                )
            ),
            token_store=KeyringTokenStore() if settings.keyring else None,
            linger=settings.sign_out_grace,
        )
        self.provider = ChannelProvider(
            self.runtime,
            settings.channel,
            on_connection=self._client_connecting,
            on_disconnection=self._client_gone,
            event_backlog=settings.app_event_backlog,
        )
        self.health = AdapterHealth()
        self.provider.too_large_hint = "page the request with sysparm_limit and sysparm_offset"
        self.events = EventPublisher(
            self.provider, case_notifications=settings.case_notifications, group=bool(settings.context_group)
        )
        self.broadcaster = ChangeBroadcaster(
            settings.watch_table,
            TablePolling(settings.poll_interval, self.health),
            self.events,
            task_tables=settings.task_table,
        )
        self.actions = ServiceNowActions(
            self.manager,
            self.policy,
            self.broadcaster,
            default_instance_url=settings.instance_url,
            default_client_id=settings.client_id,
            watching=settings.watch_table,
            health=self,
            gate=RequestGate(settings.app_requests_in_flight, settings.app_request_backlog),
        )
        self.actions.register(self.provider)
        self.search = RecordSearch(self.manager, self.policy, settings.search_type)
        self.search.register(self.provider)
        self.intents = IntentHandlers(
            self.actions.live,
            self.policy,
            writes=self.broadcaster,
            browser=self.calls,
            instance_url=settings.instance_url,
            client_id=settings.client_id,
        )
        self.interop: InteropClient | None = None
        self.session: SessionContextGroup | None = None
        self._joining: asyncio.Task[None] | None = None
        self.manager.add_listener(self.events.connection_changed)

    def _authorizer(self) -> Authorizer:
        if self.settings.authorizer == "http":
            return HttpAuthorizer()
        if self.settings.authorizer == "browser":
            # The instance's app registry entry must list http://127.0.0.1:<port>/oauth/callback.
            return BrowserAuthorizer(port=self.settings.browser_port)
        return WindowAuthorizer(RuntimeAuthWindowHost(self.calls))

    # ------------------------------------------------------------------------------------------ lifecycle

    def _check_browser_port(self) -> None:
        # Found at start-up rather than when the first user signs in, minutes later, in front of an app.
        port = self.settings.browser_port
        if self.settings.authorizer != "browser" or port == 0:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise StartupError(
                    f"--browser-port {port} is not free on 127.0.0.1 ({error.strerror}): stop what holds it "
                    "or choose another port (and list its redirect URL in the instance's app registry)"
                ) from None

    async def start(self) -> None:
        """Find the runtime, connect, create the channel, join the broker; raises if no runtime answers."""
        self.runtime.address = await runtime_address(self.settings)
        await self.runtime.connect()
        await self.provider.create()
        if self.settings.broker and not await self._join_broker(self.settings.broker):
            self._joining = asyncio.create_task(
                self._join_broker_later(self.settings.broker), name="interop-join-later"
            )

    async def _join_broker(self, platform_uuid: str) -> bool:
        """Join the broker; on failure (no broker, a malformed answer) log it and return ``False``: the
        adapter serves its channel without FDC3 meanwhile."""
        interop = InteropClient(self.runtime, platform_uuid, context_group=self.settings.context_group)
        try:
            await interop.connect()
            session = await interop.join_session_context_group(SESSION_CONTEXT_GROUP)
            for name, handler in self.intents.handlers.items():
                spec = HANDLED_INTENTS.get(name)
                contexts = spec.contexts if spec is not None else None
                await interop.register_intent_handler(name, handler, contexts=contexts)
        except OpenFinError as error:
            log.error("interop.unavailable", platform=platform_uuid, error=str(error), retrying=True)
            self.health.record_error("broker", f"could not join {platform_uuid}'s broker: {error}")
            await interop.close()
            return False
        self.session = session
        self.interop = interop
        self.events.joined(interop, session)
        log.info("interop.joined", platform=platform_uuid, intents=list(self.intents.handlers))
        return True

    async def _join_broker_later(self, platform_uuid: str) -> None:
        for delay in BROKER_RETRY.delays():
            await asyncio.sleep(delay)
            if await self._join_broker(platform_uuid):
                return

    async def serve(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set or the runtime is gone for good, then shut down; returns an exit code.

        Raises ``StartupError`` (one sentence for the operator) when it cannot start.
        """
        try:
            self._check_browser_port()
            await self.start()
        except BaseException as error:
            # Cancelled (a stop before READY) or failed: either way nothing started may outlive us.
            await self.aclose()
            if isinstance(error, Exception):
                sentence = explain_start_failure(error, self.runtime.address, self.settings.uuid)
                log.debug("adapter.start_failed", address=self.runtime.address, error=repr(error))
                raise StartupError(sentence) from error
            raise
        announce_ready(f"channel {self.settings.channel}")
        stopping = asyncio.create_task(stop.wait())
        runtime_lost = asyncio.create_task(self._runtime_gone_for_good())
        done, _ = await asyncio.wait({stopping, runtime_lost}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, runtime_lost):
            task.cancel()
        code = 0 if stopping in done else 2
        if code:
            log.warning("adapter.runtime_gone", grace=self.settings.reconnect_grace)
        await self.aclose()
        return code

    async def _runtime_gone_for_good(self) -> None:
        async for state in self.runtime.states():
            if state is RuntimeConnectionState.CLOSED:
                return
            if state is RuntimeConnectionState.RECONNECTING:
                lost = self.runtime.last_error
                self.health.record_error("runtime", f"connection lost: {lost or 'the runtime closed it'}")
                # Back means the socket is: restoring the channel may take longer (its name held by someone
                # else for a while), and the adapter keeps at it rather than exit.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.reconnect_grace):
                        async for current in self.runtime.states():
                            if current in (
                                RuntimeConnectionState.RESTORING,
                                RuntimeConnectionState.CONNECTED,
                            ):
                                break
                    continue
                return

    async def aclose(self) -> None:
        """Leave the broker, stop broadcasting, destroy the channel, revoke every login, close the socket."""
        if self._joining is not None:
            self._joining.cancel()
            await asyncio.gather(self._joining, return_exceptions=True)
        if self.interop is not None:
            await self.interop.close()
        await self.broadcaster.aclose()
        await self.events.aclose()
        if self.provider.is_open:
            with contextlib.suppress(OpenFinError):
                await self.provider.destroy()
        await self.manager.aclose(revoke=True)
        await self.runtime.close()

    def adapter_status(self) -> dict[str, Any]:
        """The adapter-wide fields of ``servicenow.status`` (``AdapterReport``), as ``StatusResult``'s JSON
        form (``RuntimeStatus``, ``BrokerStatus`` ...) in plain values."""
        origins = {connection.key.origin for connection in self.actions.live.signed_in()}
        broker = self.settings.broker
        return {
            "adapterVersion": __version__,
            "runtime": {
                "state": self.runtime.state.value,
                "address": self.runtime.address,
                "reconnects": self.runtime.stats.reconnects,
            },
            "broker": {"platform": broker, "joined": self.interop is not None} if broker else None,
            "watchers": self.health.watchers(origins, self.settings.watch_table),
            "apps": self.provider.client_uuids(),
            "lastError": self.health.last_error_fields(),
        }

    # ------------------------------------------------------------------------------------- channel hooks

    def _client_connecting(self, client: ClientIdentity, _payload: Any) -> None:
        try:
            self.policy.decide(ChannelConnect(client))
        except AccessDeniedError as denied:
            raise ChannelConnectionRejected(denied.reason) from None

    async def _client_gone(self, client: ClientIdentity) -> None:
        # The same app may hold several channel connections; its share goes with the last of them.
        if self.provider.app_connected(client):
            return
        await self.actions.release_app(client)
