"""The desktop-wide registry: one ``Connection`` per (instance origin, client id), shared by every app.

``acquire`` signs in once: concurrent acquires for the same key join the login in progress, later ones reuse
the connection at once. Shares are counted per app identity (the same app twice counts once). ``release``
drops an app's share; the last one out closes the connection and revokes its tokens, at once when the app
asked to disconnect, after ``linger`` seconds when it merely went away (``release_app``: its window closed or
its channel connection dropped, as every app's does when the runtime restarts), so that apps coming back
within that time find the user still signed in. An expired connection
is replaced by a new login on the next acquire, keeping its shares. With a ``TokenStore``, a missing
connection is first resumed from a stored refresh token, without asking the user.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from pydantic import BaseModel

from adapter.servicenow.authorizers.base import Authorizer
from adapter.servicenow.connection import (
    Connection,
    ConnectionKey,
    ConnectionOptions,
    ConnectionState,
    Listener,
)
from adapter.servicenow.errors import ApiError, AuthTokenExpiredError, NotConnectedError, ParameterError
from adapter.servicenow.listeners import add_listener
from adapter.servicenow.token_store import TokenStore
from adapter.servicenow.transport import TransportRegistry
from adapter.servicenow.validation import InstanceAddress, parse_instance_url, validate_client_id

log = structlog.get_logger(__name__)

USER_FIELDS = ("sys_id", "user_name", "name", "email")


@dataclass(frozen=True, slots=True)
class Acquired:
    """What ``acquire`` gives an app: the connection, whether it joined another app's login, and how many
    apps now share it."""

    connection: Connection
    shared: bool
    apps: int


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    """After a release: how many apps still share the connection and whether its tokens were revoked."""

    apps: int
    revoked: bool


class ConnectionSnapshot(BaseModel):
    """One connection as ``status()`` shows it; never a token."""

    instance_url: str
    client_id: str
    state: str
    user: dict[str, str]
    apps: int
    token_expires_at: datetime | None


@dataclass
class _Login:
    """A sign-in in progress and how many acquires wait for it."""

    task: asyncio.Task[Connection]
    waiters: int = 0


@dataclass
class _Entry:
    connection: Connection
    apps: set[str] = field(default_factory=set)
    closing: asyncio.Task[None] | None = None
    """The delayed close of a connection no app shares any more (see ``linger``)."""


class ConnectionManager:
    """Shares connections across apps. ``authorizer`` is how users consent; ``token_store`` is optional."""

    def __init__(
        self,
        authorizer: Authorizer,
        *,
        options: ConnectionOptions | None = None,
        token_store: TokenStore | None = None,
        transports: TransportRegistry | None = None,
        clock: Callable[[], float] = time.time,
        linger: float = 0.0,
    ) -> None:
        self._authorizer = authorizer
        self._options = options or ConnectionOptions()
        self._token_store = token_store
        self._transports = transports or TransportRegistry()
        self._clock = clock
        self._linger = linger
        self._closings: set[asyncio.Task[None]] = set()
        self._entries: dict[ConnectionKey, _Entry] = {}
        self._logins: dict[ConnectionKey, _Login] = {}
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Hear every connection's state changes (connected, refreshed, expired, disconnected)."""
        return add_listener(self._listeners, listener)

    @staticmethod
    def key_for(instance_url: str, client_id: str) -> ConnectionKey:
        """The sharing key of an instance URL and client id (``ParameterError`` when either is invalid)."""
        return ConnectionKey(parse_instance_url(instance_url).origin, validate_client_id(client_id))

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
        """The shared connection for (instance origin, client id), signing in when there is none.

        ``interactive=False`` never asks the user: it reuses a connection or resumes from the token store,
        else raises ``NotConnectedError``.
        """
        if not app_id:
            raise ParameterError("Invalid app identity")
        key = self.key_for(instance_url, client_id)
        shared = True
        entry = self._entries.get(key)
        if entry is None or entry.connection.state is not ConnectionState.CONNECTED:
            login = self._logins.get(key)
            if login is None:
                shared = False
                task = asyncio.create_task(
                    self._sign_in(key, instance_url, scope, auth_flow_params, interactive)
                )
                login = self._logins[key] = _Login(task)
                task.add_done_callback(lambda done: self._login_finished(key, done))
            login.waiters += 1
            try:
                connection = await asyncio.shield(login.task)
            except asyncio.CancelledError:
                # Every app that wanted this login has gone: stop it rather than hold a login nobody shares.
                if login.waiters == 1 and not login.task.done():
                    login.task.cancel()
                raise
            finally:
                login.waiters -= 1
            entry = self._entries.get(key)
            if entry is None or entry.connection is not connection:
                raise NotConnectedError(f"The connection to {key.origin} closed while signing in")
        entry.apps.add(app_id)
        if entry.closing is not None:
            entry.closing.cancel()
            entry.closing = None
            log.info("manager.kept", instance=key.origin, client_id=key.client_id)
        log.info("manager.acquired", instance=key.origin, client_id=key.client_id, apps=len(entry.apps))
        return Acquired(connection=entry.connection, shared=shared, apps=len(entry.apps))

    def _login_finished(self, key: ConnectionKey, task: asyncio.Task[Connection]) -> None:
        login = self._logins.get(key)
        if login is not None and login.task is task:
            del self._logins[key]
        if not task.cancelled():
            task.exception()  # retrieved here so a failed login nobody awaits any more is not reported twice

    async def _sign_in(
        self,
        key: ConnectionKey,
        instance_url: str,
        scope: Sequence[str],
        auth_flow_params: Mapping[str, object] | None,
        interactive: bool,
    ) -> Connection:
        address = parse_instance_url(instance_url)
        previous = self._entries.pop(key, None)
        if previous is not None:  # an expired connection: its shares move to the new login
            if previous.closing is not None:
                previous.closing.cancel()
            await previous.connection.close(revoke=True)
            await self._transports.give_back(key.origin)
        stored = await self._token_store.load(key.origin, key.client_id) if self._token_store else None
        connection = await self._resume(key, address, instance_url, scope, stored) if stored else None
        if connection is None:
            if not interactive:
                raise NotConnectedError(f"Not connected to {key.origin} and interactive sign-in is off")
            connection = self._new_connection(key, address, instance_url, scope)
            try:
                await connection.login(self._authorizer, auth_flow_params)
            except BaseException:
                await self._discard(connection)
                raise
        self._entries[key] = _Entry(connection, set(previous.apps) if previous else set())
        return connection

    async def _resume(
        self,
        key: ConnectionKey,
        address: InstanceAddress,
        instance_url: str,
        scope: Sequence[str],
        stored: str,
    ) -> Connection | None:
        """A connection signed in from a stored refresh token, or None when the instance refuses it."""
        connection = self._new_connection(key, address, instance_url, scope)
        try:
            await connection.resume(stored)
        except ApiError as error:
            log.info("manager.resume_failed", instance=key.origin, error=error.name)
            await self._discard(connection)
            if isinstance(error, AuthTokenExpiredError) and self._token_store is not None:
                await self._token_store.save(key.origin, key.client_id, None)
            return None
        except BaseException:
            await self._discard(connection)
            raise
        return connection

    async def _discard(self, connection: Connection) -> None:
        await connection.close(revoke=False)
        await self._transports.give_back(connection.key.origin)

    def _new_connection(
        self, key: ConnectionKey, address: InstanceAddress, instance_url: str, scope: Sequence[str]
    ) -> Connection:
        store = self._token_store

        async def save(refresh_token: str | None) -> None:
            if store is not None:
                await store.save(key.origin, key.client_id, refresh_token)

        connection = Connection(
            address=address,
            instance_url=instance_url,
            client_id=key.client_id,
            scope=scope,
            transport=self._transports.borrow(key.origin),
            options=self._options,
            clock=self._clock,
            on_tokens=save if store is not None else None,
        )
        connection.add_listener(self._relay)
        return connection

    def _relay(self, connection: Connection, state: ConnectionState) -> None:
        for listener in list(self._listeners):
            try:
                listener(connection, state)
            except Exception:
                log.exception("manager.listener_failed", state=state.value)

    def connection(
        self, app_id: str, instance_url: str | None = None, client_id: str | None = None
    ) -> Connection:
        """The connection ``app_id`` shares; ``instance_url`` may be left out when it shares only one.

        ``NotConnectedError`` when the app holds no matching share.
        """
        held = [(key, entry) for key, entry in self._entries.items() if app_id in entry.apps]
        if held and instance_url is not None:
            # Parsed once, not once per login held (apps that name their instance do so on every request).
            origin = parse_instance_url(instance_url).origin
            held = [(key, entry) for key, entry in held if key.origin == origin]
        if client_id is not None:
            held = [(key, entry) for key, entry in held if key.client_id == client_id]
        if len(held) == 1:
            return held[0][1].connection
        if not held:
            target = f" to {parse_instance_url(instance_url).origin}" if instance_url else ""
            raise NotConnectedError(f"Not connected{target}: call servicenow.connect first")
        raise ParameterError("Connected to several instances: instanceUrl is required")

    def connections(self) -> list[Connection]:
        """Every registered connection (connected or expired), e.g. for work done on the desktop's behalf."""
        return [entry.connection for entry in self._entries.values()]

    async def release(self, app_id: str, key: ConnectionKey, *, linger: float = 0.0) -> ReleaseResult:
        """Drop ``app_id``'s share of ``key``; the last share out closes the connection and revokes, after
        ``linger`` seconds without a new share when ``linger`` is positive (``revoked`` is then False)."""
        entry = self._entries.get(key)
        if entry is None or app_id not in entry.apps:
            raise NotConnectedError(f"Not connected to {key.origin}")
        entry.apps.discard(app_id)
        if entry.apps:
            return ReleaseResult(apps=len(entry.apps), revoked=False)
        if linger > 0:
            if entry.closing is None:
                entry.closing = asyncio.create_task(self._close_later(key, entry, linger))
                # Kept until done, also while it revokes (``closing`` is cleared then): shutdown waits for it.
                self._closings.add(entry.closing)
                entry.closing.add_done_callback(self._closings.discard)
            log.info("manager.lingering", instance=key.origin, client_id=key.client_id, seconds=linger)
            return ReleaseResult(apps=0, revoked=False)
        return ReleaseResult(apps=0, revoked=await self._close_entry(key, entry))

    async def release_app(self, app_id: str) -> dict[ConnectionKey, ReleaseResult]:
        """Drop every share ``app_id`` holds: it went away (window closed, channel connection dropped)
        without asking to disconnect, so a connection it leaves unshared lingers (``linger``)."""
        keys = [key for key, entry in self._entries.items() if app_id in entry.apps]
        return {key: await self.release(app_id, key, linger=self._linger) for key in keys}

    async def _close_later(self, key: ConnectionKey, entry: _Entry, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._entries.get(key) is entry and not entry.apps:
            entry.closing = None  # closing now: an acquire from here on must not cancel this task
            revoked = await self._close_entry(key, entry)
            log.info("manager.linger_ended", instance=key.origin, client_id=key.client_id, revoked=revoked)

    async def _close_entry(self, key: ConnectionKey, entry: _Entry) -> bool:
        del self._entries[key]
        revoked = await entry.connection.close(revoke=True)
        await self._transports.give_back(key.origin)
        return revoked

    def status(self) -> list[ConnectionSnapshot]:
        """Every connection's state, user, share count and token expiry; never a token."""
        # Built unvalidated: every value is the manager's own, of the field's type, and status is asked
        # on every ``servicenow.status``.
        return [
            ConnectionSnapshot.model_construct(
                instance_url=key.origin,
                client_id=key.client_id,
                state=entry.connection.state.value,
                user={
                    name: str(entry.connection.current_user[name])
                    for name in USER_FIELDS
                    if isinstance(entry.connection.current_user.get(name), str)
                },
                apps=len(entry.apps),
                token_expires_at=entry.connection.token_expires_at,
            )
            for key, entry in self._entries.items()
        ]

    async def aclose(self, *, revoke: bool = True) -> None:
        """Shut down: cancel logins in progress, close every connection (revoking unless told not to, e.g. to
        resume from the token store after a restart), close every pool."""
        logins = [login.task for login in self._logins.values()]
        for task in logins:
            task.cancel()
        await asyncio.gather(*logins, return_exceptions=True)
        entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            if entry.closing is not None:  # still lingering: closed below instead
                entry.closing.cancel()
        await asyncio.gather(*self._closings, return_exceptions=True)  # and those already revoking finish
        for entry in entries:
            await entry.connection.close(revoke=revoke)
        await self._transports.aclose()
