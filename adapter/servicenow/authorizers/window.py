"""The ``openfin-window`` authorizer: the authorize page in a desktop window, as the official package does.

This package knows nothing of OpenFin: the window comes from an injected ``AuthWindowHost`` (the bridge
adapts the OpenFin client to it). The window opens hidden and is shown after ``show_delay`` seconds, so a
silent SSO redirect never flashes; every URL it reports is matched against the redirect URI
(case-insensitive prefix); the flow ends with the official errors on denial, state mismatch, a missing
code, the user closing the window, or the timeout (300 s by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx
import structlog

from adapter.servicenow.authorizers.base import (
    DEFAULT_TIMEOUT,
    NOT_COMPLETED,
    TIMED_OUT,
    AuthorizationAttempt,
    FixedRedirectAttempt,
    code_from_redirect,
    matches_redirect,
)
from adapter.servicenow.errors import AuthorizationError

log = structlog.get_logger(__name__)

WINDOW_NAME = "oauth-api-auth-flow"
SHOW_DELAY = 2.0
DEFAULT_WINDOW_OPTIONS: Mapping[str, Any] = {
    "name": WINDOW_NAME,
    "defaultHeight": 600,
    "defaultWidth": 550,
    "defaultCentered": True,
    "alwaysOnTop": True,
    "resizable": False,
    "minimizable": False,
    "maximizable": False,
    "autoShow": False,
    "saveWindowState": False,
    "showTaskbarIcon": False,
    "includeInSnapshots": False,
}


@dataclass(frozen=True, slots=True)
class WindowEvent:
    """Something the window reports: its URL changed (``url`` set) or it is closing."""

    kind: Literal["url-changed", "closing"]
    url: str | None = None


class AuthWindow(Protocol):
    """A window showing the authorize page."""

    def events(self) -> AsyncIterator[WindowEvent]:
        """The window's current URL first, then every URL change and its closing; ends when it is gone."""
        ...

    async def show(self) -> None:
        """Make the (hidden) window visible."""
        ...

    async def close(self) -> None:
        """Close the window; closing a window that is already gone is not an error."""
        ...


class AuthWindowHost(Protocol):
    """Opens windows: implemented by the bridge on top of the OpenFin runtime calls."""

    async def open(self, url: str, options: Mapping[str, Any]) -> AuthWindow:
        """Open a hidden window named ``options["name"]`` on ``url`` (closing any older one of that name)."""
        ...


class WindowAuthorizer:
    """Consent in a window of ``host``; ``window_options`` override the defaults, as the official package."""

    def __init__(
        self,
        host: AuthWindowHost,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        show_delay: float = SHOW_DELAY,
        window_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._host = host
        self._timeout = timeout
        self._show_delay = show_delay
        self._options = {**DEFAULT_WINDOW_OPTIONS, **(window_options or {})}

    @asynccontextmanager
    async def attempt(
        self, instance_redirect_uri: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[AuthorizationAttempt]:
        """An attempt on the instance redirect URI."""
        yield _WindowAttempt(self, instance_redirect_uri)

    async def run(self, authorize_url: str, redirect_uri: str, state: str) -> str:
        """Show ``authorize_url`` and return the code of the redirect to ``redirect_uri``."""
        window = await self._host.open(authorize_url, self._options)
        shower = asyncio.create_task(self._show_later(window))
        try:
            async with asyncio.timeout(self._timeout):
                url = await self._watch(window, redirect_uri)
        except TimeoutError:
            raise AuthorizationError(TIMED_OUT) from None
        finally:
            shower.cancel()
            with suppress(Exception):
                await window.close()
        return code_from_redirect(url, state)

    async def _watch(self, window: AuthWindow, redirect_uri: str) -> str:
        async for event in window.events():
            if event.kind == "closing":
                break
            if event.url is not None and matches_redirect(event.url, redirect_uri):
                return event.url
        raise AuthorizationError(NOT_COMPLETED)

    async def _show_later(self, window: AuthWindow) -> None:
        await asyncio.sleep(self._show_delay)
        try:
            await window.show()
        except Exception as error:  # a window that cannot be shown will end in the timeout or a close
            log.warning("oauth.window_show_failed", error=type(error).__name__)


class _WindowAttempt(FixedRedirectAttempt):
    def __init__(self, authorizer: WindowAuthorizer, redirect_uri: str) -> None:
        super().__init__(redirect_uri)
        self._authorizer = authorizer

    async def complete(self, authorize_url: str, state: str) -> str:
        return await self._authorizer.run(authorize_url, self.redirect_uri, state)
