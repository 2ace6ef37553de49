"""The ``servicenow.*`` channel actions: one function per action of the channel API (docs/channel-api.md).

Every handler checks the caller against the access policy, works on the shared ``ConnectionManager`` under
the caller's app identity, and reports ServiceNow errors by their official names: the reason is
``"<ErrorName>: <message>"`` and the error object carries ``status`` and ``detail`` when known.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import structlog
from pydantic import BaseModel

from adapter.bridge.access import AccessPolicy, app_id
from adapter.bridge.fairness import RequestGate, delivery_status
from adapter.bridge.messages import (
    ConnectPayload,
    ConnectResult,
    DisconnectPayload,
    DisconnectResult,
    RequestPayload,
    StatusPayload,
)
from adapter.openfin import ActionError, ChannelProvider, ClientIdentity
from adapter.servicenow.connection import Connection, ConnectionKey, ConnectionState
from adapter.servicenow.errors import ApiError, ParameterError
from adapter.servicenow.manager import Acquired, ReleaseResult
from adapter.servicenow.response import ApiResponse

log = structlog.get_logger(__name__)

CONNECT = "servicenow.connect"
REQUEST = "servicenow.request"
DISCONNECT = "servicenow.disconnect"
STATUS = "servicenow.status"

PayloadT = TypeVar("PayloadT", bound=BaseModel)
ResultT = TypeVar("ResultT")


class OwnWrites(Protocol):
    """Where writes made through the adapter are reported, so that their change is broadcast at once."""

    def own_write(self, connection: Connection, method: str, endpoint: str, response: ApiResponse) -> None:
        """An app (or an intent) wrote through the adapter: broadcast the change at once."""


class ChangeSink(OwnWrites, Protocol):
    """What the actions tell the change broadcaster: which connections to watch, and their own writes."""

    def connection_acquired(self, connection: Connection) -> None:
        """A connection has at least one share: watch its tables."""

    def connection_released(self, key: ConnectionKey) -> None:
        """A connection's last share is gone: stop watching."""


class LoginSummary(Protocol):
    """One shared login as the registry describes it; never a token."""

    @property
    def instance_url(self) -> str:
        """The instance's origin."""

    @property
    def client_id(self) -> str:
        """The OAuth client id."""

    @property
    def state(self) -> str:
        """``connected``, ``expired`` or ``disconnected``."""

    @property
    def user(self) -> Mapping[str, str]:
        """The signed-in user's ``sys_user`` fields."""

    @property
    def apps(self) -> int:
        """How many apps share it."""

    @property
    def token_expires_at(self) -> datetime | None:
        """When the access token expires."""


class SharedLogins(Protocol):
    """What the actions use of the desktop's login registry (``ConnectionManager``)."""

    async def acquire(
        self,
        app_id: str,
        instance_url: str,
        client_id: str,
        scope: Sequence[str] = (),
        auth_flow_params: Mapping[str, object] | None = None,
        *,
        interactive: bool = True,
    ) -> Acquired:
        """``app_id``'s share of the login for (instance, client id), signing in when there is none."""

    def connection(self, app_id: str, instance_url: str | None = None) -> Connection:
        """The connection ``app_id`` shares (``NotConnectedError`` when none matches)."""

    async def release(self, app_id: str, key: ConnectionKey) -> ReleaseResult:
        """Drop ``app_id``'s share of ``key`` at once; the last share out revokes."""

    async def release_app(self, app_id: str) -> Mapping[ConnectionKey, ReleaseResult]:
        """``app_id`` went away: drop every share it held (after the registry's grace)."""

    def status(self) -> Sequence[LoginSummary]:
        """Every login the registry holds."""


class AdapterReport(Protocol):
    """The adapter-wide part of ``servicenow.status``."""

    def adapter_status(self) -> Mapping[str, Any]:
        """The ``StatusResult`` fields beyond the connections: version, runtime, broker, watchers, apps,
        last error."""


class LiveConnections:
    """The connections some app holds a share of, oldest first: where intents and status look for the
    desktop's logins. The actions add and drop them; everyone else only reads."""

    def __init__(self) -> None:
        self._connections: dict[ConnectionKey, Connection] = {}

    def add(self, connection: Connection) -> None:
        """``connection`` has a share (again: a new login for a key replaces the expired one)."""
        self._connections[connection.key] = connection

    def discard(self, key: ConnectionKey) -> None:
        """The last share of ``key`` is gone."""
        self._connections.pop(key, None)

    def signed_in(self) -> list[Connection]:
        """The shared connections that are signed in, oldest first."""
        return [c for c in self._connections.values() if c.state is ConnectionState.CONNECTED]


def as_action_error(error: ApiError) -> ActionError:
    """A ServiceNow error as the channel reports it: its official name, message, status and detail."""
    fields = {key: value for key, value in error.to_dict().items() if key not in ("name", "message")}
    return ActionError(error.message, name=error.name, **fields)


def reported(
    handler: Callable[[Any, PayloadT, ClientIdentity], Awaitable[ResultT]],
) -> Callable[[Any, PayloadT, ClientIdentity], Awaitable[ResultT]]:
    """Turn the ServiceNow errors a handler raises into named channel errors."""

    @functools.wraps(handler)
    async def run(self: Any, payload: PayloadT, caller: ClientIdentity) -> ResultT:
        try:
            return await handler(self, payload, caller)
        except ApiError as error:
            raise as_action_error(error) from None

    return run


def reported_now(
    handler: Callable[[Any, PayloadT, ClientIdentity], ResultT],
) -> Callable[[Any, PayloadT, ClientIdentity], ResultT]:
    """``reported`` for a handler that is a plain function (the channel answers it without a task)."""

    @functools.wraps(handler)
    def run(self: Any, payload: PayloadT, caller: ClientIdentity) -> ResultT:
        try:
            return handler(self, payload, caller)
        except ApiError as error:
            raise as_action_error(error) from None

    return run


class ServiceNowActions:
    """The channel's actions over one ``ConnectionManager``."""

    def __init__(
        self,
        manager: SharedLogins,
        policy: AccessPolicy,
        changes: ChangeSink,
        *,
        default_instance_url: str | None = None,
        default_client_id: str | None = None,
        watching: list[str] | None = None,
        health: AdapterReport | None = None,
        gate: RequestGate | None = None,
    ) -> None:
        """``health`` gives the adapter-wide fields of ``servicenow.status`` (see ``StatusResult``)."""
        self._health = health
        self._manager = manager
        self._gate = gate or RequestGate()
        self._policy = policy
        self._changes = changes
        self._default_instance_url = default_instance_url
        self._default_client_id = default_client_id
        self._watching = list(watching or [])
        self.live = LiveConnections()
        self._provider: ChannelProvider | None = None

    def register(self, provider: ChannelProvider) -> None:
        """Register every action on ``provider`` with its payload model."""
        self._provider = provider
        provider.register(CONNECT, self.connect, payload=ConnectPayload)
        provider.register(REQUEST, self.request, payload=RequestPayload)
        provider.register(DISCONNECT, self.disconnect, payload=DisconnectPayload)
        provider.register(STATUS, self.status, payload=StatusPayload)

    @reported
    async def connect(self, payload: ConnectPayload, caller: ClientIdentity) -> ConnectResult:
        """``servicenow.connect``: share the login for (instance origin, client id), signing in if needed."""
        self._policy.check(caller, CONNECT)
        instance_url = payload.instanceUrl or self._default_instance_url
        client_id = payload.clientId or self._default_client_id
        if not instance_url:
            raise ParameterError("Invalid instance URL")
        if not client_id:
            raise ParameterError("Invalid client ID")
        acquired = await self._manager.acquire(
            app_id(caller),
            instance_url,
            client_id,
            payload.scope,
            payload.authFlowParams,
            interactive=payload.interactive,
        )
        connection = acquired.connection
        self.live.add(connection)
        self._changes.connection_acquired(connection)
        apps = acquired.apps
        if self._present(caller):
            log.info("bridge.connected", app=caller.uuid, instance=connection.key.origin, apps=apps)
        else:
            # The app left (its window closed) while the login ran: its share goes as if it had stayed.
            released = await self._manager.release(app_id(caller), connection.key)
            if released.apps == 0:
                self._forget(connection.key)
            apps = released.apps
            log.info("bridge.left_during_login", app=caller.uuid, instance=connection.key.origin, apps=apps)
        return ConnectResult(
            instanceUrl=connection.key.origin,
            clientId=connection.client_id,
            currentUser=connection.current_user,
            scope=list(connection.scope),
            shared=acquired.shared,
            apps=apps,
        )

    @reported
    async def request(self, payload: RequestPayload, caller: ClientIdentity) -> dict[str, Any]:
        """``servicenow.request``: the official ``executeApiRequest`` on the caller's connection."""
        self._policy.check(caller, REQUEST)
        connection = self._manager.connection(app_id(caller), payload.instanceUrl)
        async with self._gate.turn(app_id(caller)):
            response = await connection.execute(
                payload.apiEndpoint,
                payload.httpMethod,
                payload.data,
                payload.suppressResponseBody,
                payload.headers,
            )
        if payload.httpMethod != "GET":
            self._changes.own_write(connection, payload.httpMethod, payload.apiEndpoint, response)
        # As the official package: no body means no ``data`` and no ``type`` keys at all.
        return response.to_wire()

    @reported
    async def disconnect(self, payload: DisconnectPayload, caller: ClientIdentity) -> DisconnectResult:
        """``servicenow.disconnect``: release the caller's share; the last share out revokes the tokens."""
        self._policy.check(caller, DISCONNECT)
        connection = self._manager.connection(app_id(caller), payload.instanceUrl)
        released = await self._manager.release(app_id(caller), connection.key)
        if released.apps == 0:
            self._forget(connection.key)
        log.info("bridge.disconnected", app=caller.uuid, instance=connection.key.origin, apps=released.apps)
        return DisconnectResult(apps=released.apps, revoked=released.revoked)

    @reported_now
    def status(self, _payload: StatusPayload, caller: ClientIdentity) -> dict[str, Any]:
        """``servicenow.status``: every connection's state, user, share count and expiry, and the adapter's
        own health (version, runtime, broker, watchers, apps, last error); never a token. A plain
        function: nothing in it waits, so the channel answers it as it reads the request.

        The answer is ``StatusResult``'s JSON form built as plain values (the same keys in the same order):
        every value comes from the adapter's own state, so building the models on each call only cost time.
        The unit tests validate it against the model."""
        self._policy.check(caller, STATUS)
        report = self._health.adapter_status() if self._health is not None else {}
        return {
            "connections": [
                {
                    "instanceUrl": entry.instance_url,
                    "clientId": entry.client_id,
                    "state": entry.state,
                    "currentUser": entry.user.get("user_name"),
                    "apps": entry.apps,
                    "tokenExpiresAt": entry.token_expires_at.isoformat() if entry.token_expires_at else None,
                }
                for entry in self._manager.status()
            ],
            "watching": list(self._watching),
            "adapterVersion": report.get("adapterVersion"),
            "runtime": report.get("runtime"),
            "broker": report.get("broker"),
            "watchers": report.get("watchers", []),
            "apps": report.get("apps", []),
            "lastError": report.get("lastError"),
            "delivery": delivery_status(self._provider, caller) if self._provider is not None else None,
        }

    def _present(self, caller: ClientIdentity) -> bool:
        return self._provider is None or self._provider.app_connected(caller)

    def _forget(self, key: ConnectionKey) -> None:
        self.live.discard(key)
        self._changes.connection_released(key)

    async def release_app(self, caller: ClientIdentity) -> None:
        """The caller's channel connection is gone (window closed): release every share it held."""
        for key, released in (await self._manager.release_app(app_id(caller))).items():
            if released.apps == 0:
                self._forget(key)
            log.info("bridge.released", app=caller.uuid, instance=key.origin, apps=released.apps)
