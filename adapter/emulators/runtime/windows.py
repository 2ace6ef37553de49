"""Applications, their headless main windows and named child windows, as far as an OAuth pop-up needs them.

Each window is a tiny navigator: it loads its URL over HTTP with httpx, follows redirects hop by hop with a
browser-like cookie jar shared by every window of the runtime (one browser session), and emits window
``url-changed`` for every URL it loads (its fields in docs/emulators/runtime.md), ``did-fail-load`` when a
host cannot be reached, and ``closing``/``closed`` (plus application ``closed`` for a main window) when it is
closed. It never submits anything on its own: tests submit a form with the emulator-only action
``emulator-submit-form``.

Child windows (``{uuid: owner, name}``) are what a window's ``fin.Window.create`` makes through the runtime's
in-process route, which node-adapter lacks from an external connection; the emulator-only action
``emulator-create-window`` stands in for that route (docs/emulators/runtime.md). Every window has bounds on
one emulated monitor (``monitor_info``), read and moved with ``get-window-bounds`` / ``set-window-bounds``.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from adapter.emulators.runtime.errors import ActionRefusedError
from adapter.emulators.runtime.events import DesktopEvents
from adapter.emulators.runtime.html_forms import clicked, parse_page, pick_form

log = structlog.get_logger(__name__)

MAX_REDIRECTS = 20
NAVIGATION_TIMEOUT = 30.0
# One 1920x1080 monitor with a 40 px task bar at the bottom, in DIPs at scale 1 (no DPI scaling).
SCREEN_WIDTH, SCREEN_HEIGHT, TASKBAR_HEIGHT = 1920, 1080, 40
# The runtime's defaults for a window's defaultLeft/Top/Width/Height.
DEFAULT_BOUNDS = (10, 10, 800, 500)
USER_AGENT = "Mozilla/5.0 (OpenFin runtime emulator) Chrome/126.0.0.0 Safari/537.36"


def _rect(left: int, top: int, right: int, bottom: int) -> dict[str, int]:
    return {"left": left, "top": top, "right": right, "bottom": bottom}


def monitor_info() -> dict[str, Any]:
    """``get-monitor-info``: the one emulated monitor, in the runtime's ``MonitorInfo`` shape."""
    screen = _rect(0, 0, SCREEN_WIDTH, SCREEN_HEIGHT)
    available = _rect(0, 0, SCREEN_WIDTH, SCREEN_HEIGHT - TASKBAR_HEIGHT)
    taskbar = _rect(0, SCREEN_HEIGHT - TASKBAR_HEIGHT, SCREEN_WIDTH, SCREEN_HEIGHT)
    primary = {
        "available": {"dipRect": dict(available), "scaledRect": dict(available)},
        "availableRect": dict(available),
        "deviceId": "\\\\.\\DISPLAY1",
        "deviceScaleFactor": 1,
        "displayDeviceActive": True,
        "dpi": {"x": 96, "y": 96},
        "monitor": {"dipRect": dict(screen), "scaledRect": dict(screen)},
        "monitorRect": dict(screen),
        "name": 0,
    }
    return {
        "deviceScaleFactor": 1,
        "dpi": {"x": 96, "y": 96},
        "nonPrimaryMonitors": [],
        "primaryMonitor": primary,
        "reason": "api-query",
        "taskBar": {"edge": "bottom", "rect": taskbar, "dipRect": dict(taskbar), "scaledRect": dict(taskbar)},
        "virtualScreen": {**screen, "dipRect": dict(screen), "scaledRect": dict(screen)},
    }


@dataclass
class Bounds:
    """A window's position and size in DIPs."""

    left: int
    top: int
    width: int
    height: int

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Bounds:
        """Where the runtime first puts a window: its default* options, centred on the monitor if asked."""
        left, top, width, height = DEFAULT_BOUNDS
        width = _int_option(options, "defaultWidth", width)
        height = _int_option(options, "defaultHeight", height)
        if options.get("defaultCentered"):
            left = (SCREEN_WIDTH - width) // 2
            top = (SCREEN_HEIGHT - TASKBAR_HEIGHT - height) // 2
        else:
            left = _int_option(options, "defaultLeft", left)
            top = _int_option(options, "defaultTop", top)
        return cls(left, top, width, height)

    def to_wire(self) -> dict[str, int]:
        """``get-window-bounds``: ``{left, top, width, height, right, bottom}``."""
        return {
            "left": self.left,
            "top": self.top,
            "width": self.width,
            "height": self.height,
            "right": self.left + self.width,
            "bottom": self.top + self.height,
        }


def _int_option(options: dict[str, Any], key: str, default: int) -> int:
    value = options.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    return default


@dataclass(eq=False)
class HeadlessWindow:
    """A main or child window: where it is, what it shows, its bounds and its navigation in flight."""

    uuid: str
    name: str
    url: str = "about:blank"
    title: str = ""
    page: str = ""
    status: int | None = None
    history: list[str] = field(default_factory=list)
    navigation: asyncio.Task[None] | None = None
    showing: bool = True
    bounds: Bounds = field(default_factory=lambda: Bounds(*DEFAULT_BOUNDS))


@dataclass(eq=False)
class Application:
    """An application created over the protocol; its main window exists while it runs."""

    uuid: str
    url: str
    options: dict[str, Any]
    parent_uuid: str | None
    window: HeadlessWindow | None = None


class Applications:
    """``create-application`` … ``destroy-application`` and the windows' navigation."""

    def __init__(self, events: DesktopEvents, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._events = events
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._apps: dict[str, Application] = {}
        self._children: dict[tuple[str, str], HeadlessWindow] = {}
        self.opened_in_browser: list[str] = []

    def exists(self, uuid: str) -> bool:
        """True while an application with ``uuid`` is registered."""
        return uuid in self._apps

    def is_running(self, uuid: str) -> bool:
        """True while the application's main window is open."""
        app = self._apps.get(uuid)
        return app is not None and app.window is not None

    async def settle(self, uuid: str) -> None:
        """Wait until the navigation in flight in ``uuid``'s main window (if any) has ended."""
        app = self._apps.get(uuid)
        if app is not None and app.window is not None and app.window.navigation is not None:
            await asyncio.wait([app.window.navigation])

    def create(self, parent_uuid: str | None, payload: dict[str, Any]) -> None:
        """``create-application {uuid, name, url, mainWindowOptions, …}``: register, do not start."""
        uuid = payload.get("uuid")
        if not isinstance(uuid, str) or not uuid:
            raise ActionRefusedError("Invalid payload: bad or missing uuid")
        if uuid in self._apps:
            raise ActionRefusedError(f"Application with specified UUID already exists: {uuid}")
        main = payload.get("mainWindowOptions")
        url = payload.get("url") or (main.get("url") if isinstance(main, dict) else None) or "about:blank"
        self._apps[uuid] = Application(uuid, str(url), dict(payload), parent_uuid)

    def run(self, payload: dict[str, Any]) -> None:
        """``run-application {uuid}``: open the main window and start loading its URL."""
        app = self._app(payload)
        if app.window is not None:
            return
        main = app.options.get("mainWindowOptions")
        auto_show = main.get("autoShow") if isinstance(main, dict) else None
        if auto_show is None:
            auto_show = app.options.get("autoShow", True)
        app.window = HeadlessWindow(app.uuid, app.uuid, showing=bool(auto_show))
        self._events.emit("application", "started", {}, uuid=app.uuid)
        self._events.emit("system", "application-started", {"uuid": app.uuid})
        self._start_navigation(app.window, "GET", app.url)

    async def navigate(self, payload: dict[str, Any]) -> None:
        """``navigate-window {uuid, name, url}``: load ``url``; answered once the load ends."""
        url = payload.get("url")
        if not isinstance(url, str) or not url:
            raise ActionRefusedError("Invalid payload: bad or missing url")
        window = self._window(payload)
        await asyncio.wait([self._start_navigation(window, "GET", url)])

    async def submit_form(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Emulator-only ``emulator-submit-form {uuid, name, form?, submit?, fields}``: submit a form.

        ``form`` picks the form by index, id or name (default: the first); ``submit`` clicks the submit
        button with that id, value or name (adding its ``name=value``; default: no button); ``fields``
        override or add to the form's default values, as a user typing would. Answered once the navigation
        ends, with the window's final ``{url, httpResponseCode}``.
        """
        window = self._window(payload)
        await self.settle(window.uuid)
        _, forms = parse_page(window.page)
        form = pick_form(forms, payload.get("form"))
        fields = payload.get("fields") or {}
        if not isinstance(fields, dict):
            raise ActionRefusedError("Invalid payload: fields must be an object")
        data = {**form.fields, **clicked(form, payload.get("submit"))}
        data.update({str(k): "" if v is None else str(v) for k, v in fields.items()})
        target = str(httpx.URL(window.url).join(form.action)) if form.action else window.url
        if form.method == "POST":
            task = self._start_navigation(window, "POST", target, data)
        else:
            task = self._start_navigation(window, "GET", str(httpx.URL(target).copy_merge_params(data)))
        await asyncio.wait([task])
        return {"url": window.url, "httpResponseCode": window.status}

    async def create_child(self, owner_uuid: str, options: dict[str, Any]) -> None:
        """Emulator-only ``emulator-create-window {name, url, autoShow, default*, …}``: a named child window.

        Stands in for the in-process route a window's ``fin.Window.create`` takes. Like a runtime, it answers
        node-adapter's ``fire-constructor-callback`` subscription with ``{success, data: {httpResponseCode,
        apiInjected}}``; it does so once the first navigation (redirects included) has ended.
        """
        name = options.get("name")
        if not isinstance(name, str) or not name:
            raise ActionRefusedError("Invalid payload: bad or missing name")
        key = (owner_uuid, name)
        if key in self._children or (owner_uuid == name and self.is_running(owner_uuid)):
            raise ActionRefusedError(
                f"Trying to create a Window with name-uuid combination already in use - {name}"
            )
        window = HeadlessWindow(
            owner_uuid, name, showing=bool(options.get("autoShow", True)), bounds=Bounds.from_options(options)
        )
        self._children[key] = window
        identity = {"uuid": owner_uuid, "name": name}
        url = options.get("url")
        await asyncio.wait(
            [self._start_navigation(window, "GET", url if isinstance(url, str) else "about:blank")]
        )
        if self._children.get(key) is not window:
            raise ActionRefusedError(f"The window {owner_uuid}/{name} was closed while it was being created")
        self._events.emit(
            "window",
            "fire-constructor-callback",
            {"success": True, "data": {"httpResponseCode": window.status or 0, "apiInjected": False}},
            **identity,
        )
        log.info("window.created", uuid=owner_uuid, name=name)

    def child_window_names(self, payload: dict[str, Any]) -> list[str]:
        """``get-child-windows {uuid}``: the names of the application's (or connection's) child windows."""
        uuid = payload.get("uuid")
        return [name for (owner, name) in self._children if owner == uuid]

    def close_children_of(self, owner_uuid: str) -> None:
        """Close every child window of ``owner_uuid`` (its connection went away)."""
        for owner, name in list(self._children):
            if owner == owner_uuid:
                self._close_child(self._children[(owner, name)])

    def window_bounds(self, payload: dict[str, Any]) -> dict[str, int]:
        """``get-window-bounds``."""
        return self._window(payload).bounds.to_wire()

    def set_bounds(self, payload: dict[str, Any]) -> None:
        """``set-window-bounds {left?, top?, width?, height?}``: move or resize (``bounds-changed``)."""
        window = self._window(payload)
        old = window.bounds
        new = Bounds(
            _int_option(payload, "left", old.left),
            _int_option(payload, "top", old.top),
            max(_int_option(payload, "width", old.width), 0),
            max(_int_option(payload, "height", old.height), 0),
        )
        if new == old:
            return
        window.bounds = new
        moved = (new.left, new.top) != (old.left, old.top)
        resized = (new.width, new.height) != (old.width, old.height)
        change_type = 2 if moved and resized else (0 if moved else 1)
        self._events.emit(
            "window",
            "bounds-changed",
            {**new.to_wire(), "changeType": change_type, "deferred": False, "reason": "self"},
            uuid=window.uuid,
            name=window.name,
        )

    def close_window(self, payload: dict[str, Any]) -> None:
        """``close-window {uuid, name, force}``: ``closing``, ``closed``, then a main window's app closes."""
        window = self._window(payload)
        if self._children.get((window.uuid, window.name)) is window:
            self._close_child(window)
            return
        app = self._apps[window.uuid]
        self._close(app)

    def close_application(self, payload: dict[str, Any]) -> None:
        """``close-application {uuid, force}``: close the main window, if open."""
        app = self._app(payload)
        if app.window is not None:
            self._close(app)

    def destroy(self, payload: dict[str, Any]) -> None:
        """``destroy-application {uuid}``: close if needed and forget the application."""
        app = self._app(payload)
        if app.window is not None:
            self._close(app)
        del self._apps[app.uuid]

    def set_showing(self, payload: dict[str, Any], showing: bool) -> None:
        """``show-window`` / ``hide-window``: the window appears or disappears (``shown`` / ``hidden``)."""
        window = self._window(payload)
        if window.showing != showing:
            window.showing = showing
            self._events.emit(
                "window", "shown" if showing else "hidden", {}, uuid=window.uuid, name=window.name
            )

    def focus(self, payload: dict[str, Any]) -> None:
        """``focus-window``: a headless window has no focus to take; only its existence is checked."""
        self._window(payload)

    def is_showing(self, payload: dict[str, Any]) -> bool:
        """``is-window-showing``: whether the window is visible."""
        return self._window(payload).showing

    def window_info(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``get-window-info``: where the window is."""
        window = self._window(payload)
        return {
            "url": window.url,
            "title": window.title,
            "canNavigateBack": len(window.history) > 1,
            "canNavigateForward": False,
            "preloadScripts": [],
        }

    def app_info(self, uuid: str, runtime_version: str) -> dict[str, Any] | None:
        """``get-info`` for an application, or ``None`` when there is no such application."""
        app = self._apps.get(uuid)
        if app is None:
            return None
        return {
            "initialOptions": app.options,
            "launchMode": "api",
            "manifest": {},
            "manifestUrl": "",
            "parentUuid": app.parent_uuid,
            "runtime": {"version": runtime_version},
        }

    def window_identities(self) -> list[tuple[str, str]]:
        """(uuid, name) of every open window."""
        mains = [(a.window.uuid, a.window.name) for a in self._apps.values() if a.window is not None]
        return [*mains, *self._children]

    async def aclose(self) -> None:
        """Stop every navigation and release the HTTP client."""
        windows = [a.window for a in self._apps.values() if a.window is not None]
        tasks = [w.navigation for w in [*windows, *self._children.values()] if w.navigation is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- internals -------------------------------------------------------------------------------------------

    def _app(self, payload: dict[str, Any]) -> Application:
        uuid = payload.get("uuid")
        app = self._apps.get(uuid) if isinstance(uuid, str) else None
        if app is None:
            raise ActionRefusedError(f"Application with specified UUID does not exist: {uuid}")
        return app

    def _window(self, payload: dict[str, Any]) -> HeadlessWindow:
        uuid, name = payload.get("uuid"), payload.get("name") or payload.get("uuid")
        child = self._children.get((uuid, name)) if isinstance(uuid, str) and isinstance(name, str) else None
        if child is not None:
            return child
        app = self._apps.get(uuid) if isinstance(uuid, str) else None
        if app is None or app.window is None or app.window.name != name:
            raise ActionRefusedError(f"Could not locate the requested window: {uuid}/{name}")
        return app.window

    def _close(self, app: Application) -> None:
        window = app.window
        assert window is not None
        if window.navigation is not None:
            window.navigation.cancel()
        identity = {"uuid": window.uuid, "name": window.name}
        self._events.emit("window", "closing", {}, **identity)
        app.window = None
        self._events.emit("window", "closed", {}, **identity)
        self._events.emit("system", "window-closed", dict(identity))
        self._events.emit("application", "closed", {}, uuid=app.uuid)
        self._events.emit("system", "application-closed", {"uuid": app.uuid})
        log.info("window.closed", uuid=window.uuid)

    def _close_child(self, window: HeadlessWindow) -> None:
        if window.navigation is not None:
            window.navigation.cancel()
        identity = {"uuid": window.uuid, "name": window.name}
        self._events.emit("window", "closing", {}, **identity)
        del self._children[(window.uuid, window.name)]
        self._events.emit("window", "closed", {}, **identity)
        self._events.emit("system", "window-closed", dict(identity))
        log.info("window.closed", uuid=window.uuid, name=window.name)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport,
                follow_redirects=False,
                timeout=NAVIGATION_TIMEOUT,
                headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.8"},
            )
        return self._client

    def _start_navigation(
        self, window: HeadlessWindow, method: str, url: str, data: dict[str, str] | None = None
    ) -> asyncio.Task[None]:
        if window.navigation is not None and not window.navigation.done():
            window.navigation.cancel()
        window.navigation = asyncio.create_task(self._load(window, method, url, data))
        return window.navigation

    async def _load(self, window: HeadlessWindow, method: str, url: str, data: dict[str, str] | None) -> None:
        client = self._http()
        identity = {"uuid": window.uuid, "name": window.name}
        try:
            request = client.build_request(method, url, data=data)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError):
            self._arrive(window, url, None, "")
            return
        for _ in range(MAX_REDIRECTS + 1):
            if request.url.scheme not in ("http", "https"):
                # A custom-scheme target (or about:blank): nothing loads, but the URL still changes.
                self._arrive(window, str(request.url), None, "")
                return
            try:
                response = await client.send(request)
                body = (await response.aread()).decode(response.encoding or "utf-8", errors="replace")
            except httpx.HTTPError as exc:
                self._events.emit(
                    "window",
                    "did-fail-load",
                    {
                        "errorCode": -102,
                        "errorDescription": f"ERR_CONNECTION_FAILED ({type(exc).__name__})",
                        "validatedURL": str(request.url),
                        "isMainFrame": True,
                    },
                    **identity,
                )
                return
            self._arrive(window, str(response.url), response, body)
            next_request = response.next_request
            if next_request is None:
                return
            self._events.emit(
                "window",
                "will-redirect",
                {"url": str(next_request.url), "blocked": False, "isInPlace": False, "isMainFrame": True},
                **identity,
            )
            request = next_request
        log.warning("window.too_many_redirects", uuid=window.uuid)

    def _arrive(self, window: HeadlessWindow, url: str, response: httpx.Response | None, body: str) -> None:
        window.url = url
        window.history.append(url)
        window.status = response.status_code if response is not None else None
        window.page = body
        window.title, _ = parse_page(body) if body else ("", [])
        fields: dict[str, Any] = {"url": url, "isInPage": False}
        if response is not None:
            fields["httpResponseCode"] = response.status_code
            fields["httpStatusText"] = response.reason_phrase
        log.debug("window.url_changed", uuid=window.uuid, status=window.status)
        self._events.emit("window", "url-changed", fields, uuid=window.uuid, name=window.name)
