"""The openfin-window authorizer against a fake window host: the official outcomes and messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from adapter.servicenow.authorizers import WindowAuthorizer, WindowEvent
from adapter.servicenow.authorizers.base import code_from_redirect, matches_redirect
from adapter.servicenow.errors import AuthorizationError

REDIRECT = "https://acme.service-now.com/oauth_redirect.do"
AUTHORIZE = "https://acme.service-now.com/oauth_auth.do?client_id=x"


class FakeWindow:
    def __init__(self, script: list[WindowEvent], *, linger: bool = False) -> None:
        self.script = script
        self.linger = linger
        self.shown = asyncio.Event()
        self.closed = False

    async def events(self) -> AsyncIterator[WindowEvent]:
        for event in self.script:
            await asyncio.sleep(0)
            yield event
        if self.linger:
            await asyncio.Event().wait()

    async def show(self) -> None:
        self.shown.set()

    async def close(self) -> None:
        self.closed = True


class FakeHost:
    def __init__(self, window: FakeWindow) -> None:
        self.window = window
        self.opened: list[tuple[str, Mapping[str, Any]]] = []

    async def open(self, url: str, options: Mapping[str, Any]) -> FakeWindow:
        self.opened.append((url, options))
        return self.window


async def run(window: FakeWindow, *, timeout: float = 5, show_delay: float = 2.0, **options: Any) -> str:
    host = FakeHost(window)
    authorizer = WindowAuthorizer(
        host, timeout=timeout, show_delay=show_delay, window_options=options or None
    )
    async with authorizer.attempt(REDIRECT) as attempt:
        assert attempt.redirect_uri == REDIRECT
        return await attempt.complete(AUTHORIZE, "state-1")


def url(value: str) -> WindowEvent:
    return WindowEvent("url-changed", value)


async def test_the_code_of_the_redirect_is_returned_and_the_window_closed() -> None:
    window = FakeWindow(
        [
            url(AUTHORIZE),
            url("https://acme.service-now.com/login.do"),
            url(f"{REDIRECT}?code=CODE%2Bx&state=state-1"),
        ],
        linger=True,
    )
    assert await run(window) == "CODE+x"
    assert window.closed


async def test_the_redirect_matches_without_regard_to_case() -> None:
    window = FakeWindow([url("https://ACME.service-now.com/OAUTH_REDIRECT.do?code=abc&state=state-1")])
    assert await run(window) == "abc"


async def test_a_wrong_state_is_a_state_mismatch() -> None:
    window = FakeWindow([url(f"{REDIRECT}?code=abc&state=forged")])
    with pytest.raises(AuthorizationError, match=r"^State mismatch$"):
        await run(window)
    assert window.closed


async def test_user_denial_is_an_authorization_error() -> None:
    window = FakeWindow([url(f"{REDIRECT}?error=access_denied&error_description=denied&state=state-1")])
    with pytest.raises(AuthorizationError, match=r"^Authorization error$") as caught:
        await run(window)
    assert caught.value.detail == {"error": "access_denied", "error_description": "denied"}


async def test_a_redirect_without_code_is_authorization_code_missing() -> None:
    with pytest.raises(AuthorizationError, match=r"^Authorization code missing$"):
        await run(FakeWindow([url(f"{REDIRECT}?state=state-1")]))


async def test_closing_the_window_fails_the_flow() -> None:
    with pytest.raises(AuthorizationError, match=r"^Failed to complete authorization code flow$"):
        await run(FakeWindow([url(AUTHORIZE), WindowEvent("closing")]))


async def test_no_redirect_within_the_timeout_is_authorization_timed_out() -> None:
    window = FakeWindow([url(AUTHORIZE)], linger=True)
    with pytest.raises(AuthorizationError, match=r"^Authorization timed out$"):
        await run(window, timeout=0.05)
    assert window.closed


async def test_the_window_opens_hidden_and_is_shown_after_the_delay() -> None:
    window = FakeWindow([url(AUTHORIZE)], linger=True)
    task = asyncio.create_task(run(window, timeout=5, show_delay=0.01))
    async with asyncio.timeout(5):
        await window.shown.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_silent_redirect_is_never_shown() -> None:
    window = FakeWindow([url(f"{REDIRECT}?code=abc&state=state-1")])
    assert await run(window, show_delay=30) == "abc"
    # Not a wait for the delay: the delayed show must have been called off, so that it can never happen.
    # (The test above is the control that the same delayed show does show a window still waiting.)
    [shower] = [task for task in asyncio.all_tasks() if "_show_later" in repr(task.get_coro())]
    await asyncio.wait([shower], timeout=5)
    assert shower.cancelled()
    assert not window.shown.is_set()


async def test_window_options_default_as_the_official_package_and_can_be_overridden() -> None:
    window = FakeWindow([url(f"{REDIRECT}?code=abc&state=state-1")])
    host = FakeHost(window)
    authorizer = WindowAuthorizer(host, window_options={"defaultWidth": 800})
    async with authorizer.attempt(REDIRECT) as attempt:
        await attempt.complete(AUTHORIZE, "state-1")
    opened_url, options = host.opened[0]
    assert opened_url == AUTHORIZE
    assert options["name"] == "oauth-api-auth-flow"
    assert (options["defaultHeight"], options["defaultWidth"], options["autoShow"]) == (600, 800, False)


def test_a_lookalike_path_is_not_the_redirect() -> None:
    assert matches_redirect(f"{REDIRECT}?code=1", REDIRECT)
    assert matches_redirect(REDIRECT.upper(), REDIRECT)
    assert not matches_redirect(f"{REDIRECT}.evil.example/?code=1", REDIRECT)
    assert not matches_redirect("https://evil.example/oauth_redirect.do?code=1", REDIRECT)


def test_an_error_wins_over_a_state_mismatch_as_in_the_official_order() -> None:
    with pytest.raises(AuthorizationError, match=r"^Authorization error$"):
        code_from_redirect(f"{REDIRECT}?error=server_error&state=other", "state-1")
