"""Signing in against the emulator over real HTTP: the PKCE flow through the http and browser authorizers,
user denial, a forged callback, the timeout, scripted mode, and the shared login."""

from __future__ import annotations

import asyncio
import re
import socket
from html import unescape

import httpx
import pytest

from adapter.emulators.servicenow.tokens import OAuthClient
from adapter.servicenow.authorizers import BrowserAuthorizer, HttpAuthorizer
from adapter.servicenow.connection import ConnectionOptions, ConnectionState
from adapter.servicenow.errors import AuthorizationError
from adapter.servicenow.manager import ConnectionManager
from tests.integration.servicenow_client.conftest import CASES, CLIENT_ID, ManagerFactory
from tests.support.servicenow_emulator import ServiceNowEmulator, servicenow_emulator

LOOPBACK_CLIENT = "openfin-loopback"
WAIT = 10.0


async def test_http_authorizer_completes_the_pkce_flow(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    manager = make_manager()
    acquired = await manager.acquire("app-1", emulator.url, CLIENT_ID, ["useraccount"])
    assert acquired.connection.current_user["user_name"] == "beth.anglin"
    assert (acquired.shared, acquired.apps) == (False, 1)
    tokens = await emulator.tokens()
    assert (len(tokens["access"]), len(tokens["refresh"])) == (1, 1)
    stats = await emulator.stats()
    assert stats["GET /oauth_auth.do"] == 1
    assert stats["POST /oauth_token.do"] == 1
    response = await acquired.connection.execute(f"{CASES}?sysparm_limit=1")
    assert response.status == 200
    assert isinstance(response.data, list)


async def test_scripted_mode_uses_the_openfin_scripted_api(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    manager = make_manager(options=ConnectionOptions(mode="scripted"))
    acquired = await manager.acquire("app-1", emulator.url, CLIENT_ID)
    assert acquired.connection.current_user["user_name"] == "beth.anglin"
    result = await manager.release("app-1", acquired.connection.key)
    assert result.revoked
    stats = await emulator.stats()
    assert stats["POST /api/x_opfi_openfin/v1/integration/request_tokens"] == 1
    assert stats["GET /api/x_opfi_openfin/v1/integration/user_info"] == 1
    assert stats["POST /api/x_opfi_openfin/v1/integration/revoke_token"] == 2
    assert "POST /oauth_token.do" not in stats
    assert await emulator.tokens() == {"access": [], "refresh": []}


async def test_http_authorizer_reports_an_instance_that_wants_a_person() -> None:
    async with servicenow_emulator() as emu:
        manager = ConnectionManager(HttpAuthorizer())
        with pytest.raises(AuthorizationError, match=r"^Failed to complete authorization code flow$"):
            await manager.acquire("app-1", emu.url, CLIENT_ID)
        await manager.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class FakeBrowser:
    """Plays the user's browser with httpx: loads the login page, submits it, follows the redirects."""

    def __init__(self, *, action: str = "allow", forge_state: bool = False, do_nothing: bool = False) -> None:
        self.action = action
        self.forge_state = forge_state
        self.do_nothing = do_nothing
        self.tasks: list[asyncio.Task[None]] = []
        self.loop = asyncio.get_running_loop()

    def open(self, url: str) -> bool:
        # Called from a worker thread, as webbrowser.open would be.
        if not self.do_nothing:
            self.loop.call_soon_threadsafe(lambda: self.tasks.append(self.loop.create_task(self.drive(url))))
        return True

    async def drive(self, url: str) -> None:
        async with httpx.AsyncClient(follow_redirects=True, timeout=WAIT, trust_env=False) as browser:
            page = await browser.get(url)
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
            fields = {unescape(k): unescape(v) for k, v in fields.items()}
            if self.forge_state:
                callback = f"{fields['redirect_uri']}?code=stolen&state=forged"
                await browser.get(callback)
                return
            form = {
                **fields,
                "user_name": "beth.anglin",
                "user_password": "beth.anglin",
                "action": self.action,
            }
            await browser.post(str(page.url.join("/oauth_auth.do")), data=form)


async def browser_sign_in(browser: FakeBrowser, timeout: float = 30) -> str:
    port = free_port()
    async with servicenow_emulator() as emu:
        emu.app.state.tokens.register(
            OAuthClient(
                client_id=LOOPBACK_CLIENT,
                name="OpenFin adapter (loopback)",
                redirect_urls=(f"http://127.0.0.1:{port}/oauth/callback",),
            )
        )
        manager = ConnectionManager(BrowserAuthorizer(open_url=browser.open, port=port, timeout=timeout))
        try:
            acquired = await manager.acquire("app-1", emu.url, LOOPBACK_CLIENT)
            return str(acquired.connection.current_user["user_name"])
        finally:
            await manager.aclose()
            for task in browser.tasks:
                await task


async def test_browser_authorizer_completes_the_pkce_flow_over_a_loopback_redirect() -> None:
    assert await browser_sign_in(FakeBrowser()) == "beth.anglin"


async def test_user_denial_is_an_authorization_error() -> None:
    with pytest.raises(AuthorizationError, match=r"^Authorization error$") as caught:
        await browser_sign_in(FakeBrowser(action="deny"))
    assert caught.value.detail["error"] == "access_denied"


async def test_a_callback_with_another_state_is_a_state_mismatch() -> None:
    with pytest.raises(AuthorizationError, match=r"^State mismatch$"):
        await browser_sign_in(FakeBrowser(forge_state=True))


async def test_no_consent_within_the_timeout_is_authorization_timed_out() -> None:
    with pytest.raises(AuthorizationError, match=r"^Authorization timed out$"):
        await browser_sign_in(FakeBrowser(do_nothing=True), timeout=0.2)


async def test_concurrent_connects_share_one_login_and_count_apps_once(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    manager = make_manager()
    first, second, again = await asyncio.gather(
        manager.acquire("app-1", emulator.url, CLIENT_ID),
        manager.acquire("app-2", emulator.url + "/some/page", CLIENT_ID),
        manager.acquire("app-1", emulator.url, CLIENT_ID),
    )
    assert first.connection is second.connection is again.connection
    assert [first.shared, second.shared, again.shared] == [False, True, True]
    assert (await emulator.stats())["GET /oauth_auth.do"] == 1
    later = await manager.acquire("app-3", emulator.url, CLIENT_ID)
    assert (later.shared, later.apps) == (True, 3)
    assert (await emulator.stats())["GET /oauth_auth.do"] == 1
    [status] = manager.status()
    assert (status.apps, status.state, status.user["user_name"]) == (3, "connected", "beth.anglin")
    assert "token" not in status.model_dump_json().replace("token_expires_at", "")


async def test_the_last_release_revokes_and_earlier_ones_do_not(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    manager = make_manager()
    first = await manager.acquire("app-1", emulator.url, CLIENT_ID)
    await manager.acquire("app-2", emulator.url, CLIENT_ID)
    states: list[ConnectionState] = []
    manager.add_listener(lambda _connection, state: states.append(state))
    key = first.connection.key
    assert (await manager.release("app-1", key)).apps == 1
    assert len((await emulator.tokens())["access"]) == 1
    result = await manager.release("app-2", key)
    assert (result.apps, result.revoked) == (0, True)
    assert await emulator.tokens() == {"access": [], "refresh": []}
    assert states == [ConnectionState.DISCONNECTED]
    assert manager.status() == []
