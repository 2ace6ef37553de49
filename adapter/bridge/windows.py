"""The OAuth consent window, hosted by the OpenFin runtime.

The ServiceNow side asks for an ``AuthWindowHost`` and knows nothing of OpenFin; this module provides one
on top of ``adapter.openfin.RuntimeCalls``: an application whose main window shows the authorize page, its
``url-changed`` events followed until the redirect, ``closing``/``closed`` reported as the user giving up.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from adapter.openfin import AppWindow, OpenFinError, RuntimeCalls, WindowOptions
from adapter.servicenow.authorizers.window import AuthWindow, WindowEvent


def window_options(options: Mapping[str, Any]) -> WindowOptions:
    """OpenFin window options from the official package's option names (unknown names are ignored)."""
    return WindowOptions(
        width=int(options.get("defaultWidth", options.get("width", 550))),
        height=int(options.get("defaultHeight", options.get("height", 600))),
        always_on_top=bool(options.get("alwaysOnTop", True)),
        auto_show=bool(options.get("autoShow", False)),
        resizable=bool(options.get("resizable", False)),
        minimizable=bool(options.get("minimizable", False)),
        maximizable=bool(options.get("maximizable", False)),
        include_in_snapshots=bool(options.get("includeInSnapshots", False)),
        save_window_state=bool(options.get("saveWindowState", False)),
        show_taskbar_icon=bool(options.get("showTaskbarIcon", False)),
    )


class RuntimeAuthWindow:
    """One consent window: its URL changes and its closing, as the ServiceNow authorizer reads them."""

    def __init__(self, window: AppWindow, url: str) -> None:
        self._window = window
        self._url = url

    async def events(self) -> AsyncIterator[WindowEvent]:
        """The URL the window was opened on, then each URL change, then ``closing`` if the user closes it."""
        yield WindowEvent("url-changed", self._url)
        async for event in self._window.events():
            if event.type == "url-changed" and event.url is not None:
                yield WindowEvent("url-changed", event.url)
            elif event.type in ("closing", "closed"):
                yield WindowEvent("closing")
                return

    async def show(self) -> None:
        """Show the window (it opens hidden so that a silent single sign-on never flashes)."""
        await self._window.connection.request("show-window", self._window.identity.to_wire())

    async def close(self) -> None:
        """Close the window; a window already gone is fine."""
        with contextlib.suppress(OpenFinError):
            await self._window.close(force=True)


class RuntimeAuthWindowHost:
    """Opens consent windows through the runtime this adapter is connected to."""

    def __init__(self, runtime: RuntimeCalls) -> None:
        self._runtime = runtime
        self._open: dict[str, RuntimeAuthWindow] = {}

    async def open(self, url: str, options: Mapping[str, Any]) -> AuthWindow:
        """Start a hidden window on ``url``, first closing an older one of the same name (as the official
        package does); its events are followed from before it loads."""
        name = str(options.get("name", ""))
        older = self._open.pop(name, None)
        if older is not None:
            await older.close()
        window = RuntimeAuthWindow(await self._runtime.open_window(url, options=window_options(options)), url)
        self._open[name] = window
        return window
