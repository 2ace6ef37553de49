"""Typed runtime calls the rest of the adapter needs: version and runtime info, sponsoring an external
connection, the system browser, and an application window for the OAuth consent page.

An external connection cannot create a bare window (no websocket action does: docs/emulators/runtime.md,
"Emulator-only actions"), so ``open_window`` starts an application whose main window shows the URL, with the
window options the official ServiceNow package gives its auth window, and follows that window's
``url-changed``, ``closing`` and ``closed`` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import Field

from adapter.logging import register_secret
from adapter.openfin.connection import RuntimeConnection
from adapter.openfin.desktop_events import EventSubscription
from adapter.openfin.errors import RequestTimeoutError, RuntimeNotConnectedError, RuntimeRequestError
from adapter.openfin.frames import DesktopEvent, Identity, WireModel

log = structlog.get_logger(__name__)

WINDOW_EVENTS = ("url-changed", "closing", "closed")


class RuntimeInfo(WireModel):
    """``get-runtime-info``: the runtime's websocket ``port``, ``version`` and more (extra fields kept)."""

    port: int | None = None
    version: str | None = None
    security_realm: str | None = Field(default=None, alias="securityRealm")
    manifest_url: str | None = Field(default=None, alias="manifestUrl")


class ExternalConnectionGrant(WireModel):
    """``register-external-connection``: the uuid and one-time token another process connects with."""

    uuid: str
    token: str


@dataclass(frozen=True)
class WindowOptions:
    """Main-window options; the defaults are those of the official ServiceNow package's auth window."""

    width: int = 550
    height: int = 600
    always_on_top: bool = True
    auto_show: bool = True
    default_centered: bool = True
    maximizable: bool = False
    minimizable: bool = False
    resizable: bool = False
    include_in_snapshots: bool = False
    save_window_state: bool = False
    show_taskbar_icon: bool = False

    def to_wire(self) -> dict[str, Any]:
        """The options as OpenFin window options (camelCase)."""
        return {
            "alwaysOnTop": self.always_on_top,
            "autoShow": self.auto_show,
            "defaultCentered": self.default_centered,
            "defaultWidth": self.width,
            "defaultHeight": self.height,
            "width": self.width,
            "height": self.height,
            "includeInSnapshots": self.include_in_snapshots,
            "maximizable": self.maximizable,
            "minimizable": self.minimizable,
            "resizable": self.resizable,
            "saveWindowState": self.save_window_state,
            "showTaskbarIcon": self.show_taskbar_icon,
        }


@dataclass(frozen=True)
class WindowEvent:
    """An event of a window we opened: ``type`` (``url-changed``, ``closing``, ``closed``), ``url``."""

    type: str
    url: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


class AppWindow:
    """The main window of an application we started; iterate ``events()`` to follow it."""

    def __init__(self, connection: RuntimeConnection, identity: Identity) -> None:
        self.connection = connection
        self.identity = identity
        self._events: asyncio.Queue[WindowEvent | None] = asyncio.Queue()
        self._subscriptions: list[EventSubscription] = []
        self._following = True
        self.closed = False

    async def follow(self) -> None:
        """Subscribe to this window's events (what ``events`` and ``wait_closed`` read)."""
        for event_type in WINDOW_EVENTS:
            self._subscriptions.append(
                await self.connection.subscribe_event(
                    "window", event_type, self._on_event, uuid=self.identity.uuid, name=self.identity.name
                )
            )

    def _on_event(self, event: DesktopEvent) -> None:
        if not self._following:
            return
        fields = event.model_extra or {}
        url = fields.get("url")
        self._events.put_nowait(WindowEvent(event.type, url if isinstance(url, str) else None, dict(fields)))
        if event.type == "closed":
            self.closed = True
            self._events.put_nowait(None)

    async def events(self) -> AsyncIterator[WindowEvent]:
        """The window's events as they happen, ending after ``closed``, or at once when we close or release it
        (events caused by our own ``close`` are not reported: only the user's closing counts)."""
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    async def navigate(self, url: str) -> None:
        """Load ``url`` in the window."""
        await self.connection.request("navigate-window", {**self.identity.to_wire(), "url": url})

    async def close(self, *, force: bool = True) -> None:
        """Close the window (ending its application) and stop following its events. Safe to call twice."""
        self._stop_following()
        if not self.closed:
            self.closed = True
            with contextlib.suppress(RuntimeRequestError, RuntimeNotConnectedError, RequestTimeoutError):
                await self.connection.request("close-window", {**self.identity.to_wire(), "force": force})
        await self.release()

    async def release(self) -> None:
        """Stop following the window's events (the window itself is left alone)."""
        self._stop_following()
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.unsubscribe()

    def _stop_following(self) -> None:
        if self._following:
            self._following = False
            while not self._events.empty():
                self._events.get_nowait()
            self._events.put_nowait(None)


class RuntimeCalls:
    """Runtime calls over ``connection``."""

    def __init__(self, connection: RuntimeConnection) -> None:
        self.connection = connection

    async def get_version(self) -> str:
        """The runtime's version string."""
        return str(await self.connection.request("get-version"))

    async def get_runtime_info(self) -> RuntimeInfo:
        """The runtime's port, version, security realm and more."""
        return RuntimeInfo.model_validate(await self.connection.request("get-runtime-info") or {})

    async def register_external_connection(self, uuid: str) -> ExternalConnectionGrant:
        """Sponsor another process: the token it connects with as ``uuid`` (masked in logs from now on)."""
        grant = ExternalConnectionGrant.model_validate(
            await self.connection.request("register-external-connection", {"uuid": uuid})
        )
        register_secret(grant.token)
        return grant

    async def open_url_with_browser(self, url: str) -> None:
        """Open ``url`` in the user's default browser."""
        await self.connection.request("open-url-with-browser", {"url": url})

    async def open_window(
        self, url: str, *, uuid: str | None = None, options: WindowOptions | None = None
    ) -> AppWindow:
        """Start an application whose main window shows ``url``, already following its events.

        ``uuid`` defaults to a fresh ``<our uuid>-window-<random>``, since a runtime refuses a uuid in use.
        The events are subscribed before the application runs, so the first ``url-changed`` is not missed.
        """
        app_uuid = uuid or f"{self.connection.uuid}-window-{secrets.token_hex(4)}"
        window_options = (options or WindowOptions()).to_wire()
        await self.connection.request(
            "create-application",
            {
                "uuid": app_uuid,
                "name": app_uuid,
                "url": url,
                "autoShow": window_options["autoShow"],
                "mainWindowOptions": {**window_options, "name": app_uuid, "url": url},
                "waitForPageLoad": False,
            },
        )
        window = AppWindow(self.connection, Identity(uuid=app_uuid, name=app_uuid))
        await window.follow()
        try:
            await self.connection.request("run-application", {"uuid": app_uuid})
        except BaseException:
            await window.release()
            raise
        log.info("runtime.window_opened", uuid=app_uuid)
        return window
