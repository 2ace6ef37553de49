"""OAuth attacks on the adapter's sign-in, against the ServiceNow emulator over real HTTP.

The adapter's own sign-in code (``ConnectionManager`` -> ``Connection.login`` -> the authorizers) runs; what
plays the attacker is the window or browser it talks to. State mismatch, a code injected from another flow,
a code or verifier used twice, and redirects to another origin are all refused, and no token is issued.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from adapter.servicenow import oauth
from adapter.servicenow.authorizers import HttpAuthorizer, WindowAuthorizer
from adapter.servicenow.authorizers.base import AuthorizationAttempt, FixedRedirectAttempt
from adapter.servicenow.authorizers.window import WindowEvent
from adapter.servicenow.errors import AuthorizationError, ParameterError
from adapter.servicenow.manager import ConnectionManager
from tests.security.trap import trap_server
from tests.support.servicenow_emulator import ServiceNowEmulator, servicenow_emulator

CLIENT_ID = "openfin-demo"


@pytest.fixture
async def emulator() -> AsyncIterator[ServiceNowEmulator]:
    async with servicenow_emulator(auto_login="beth.anglin") as emu:
        yield emu


async def approve(emulator: ServiceNowEmulator, authorize_url: str) -> str:
    """What the instance's consent page answers (auto-login): the redirect URL with code and state."""
    response = await emulator.hooks.get(authorize_url)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


async def other_flow_code(emulator: ServiceNowEmulator) -> str:
    """A code from a separate authorization with its own verifier: the attacker's flow."""
    challenge = create_s256_code_challenge(secrets.token_hex(64))
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": f"{emulator.url}/oauth_redirect.do",
            "state": "attacker",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    location = await approve(emulator, f"{emulator.url}/oauth_auth.do?{query}")
    return parse_qs(urlsplit(location).query)["code"][0]


@dataclass
class ScriptedAuthorizer:
    """An authorizer whose consent step is a test's script: ``answer(authorize_url, state) -> code``."""

    answer: Callable[[str, str], Any]

    @asynccontextmanager
    async def attempt(
        self, instance_redirect_uri: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[AuthorizationAttempt]:
        yield _ScriptedAttempt(instance_redirect_uri, self.answer)


class _ScriptedAttempt(FixedRedirectAttempt):
    def __init__(self, redirect_uri: str, answer: Callable[[str, str], Any]) -> None:
        super().__init__(redirect_uri)
        self._answer = answer

    async def complete(self, authorize_url: str, state: str) -> str:
        code: str = await self._answer(authorize_url, state)
        return code


@dataclass
class ScriptedWindow:
    """An OpenFin window whose URL changes are a test's script."""

    urls: list[str]
    closed: bool = False

    async def events(self) -> AsyncIterator[WindowEvent]:
        for url in self.urls:
            yield WindowEvent("url-changed", url)
        yield WindowEvent("closing")

    async def show(self) -> None:
        """Nothing to show."""

    async def close(self) -> None:
        self.closed = True


@dataclass
class ScriptedWindowHost:
    """Opens ``ScriptedWindow``s: ``script(authorize_url) -> urls the window goes through``."""

    script: Callable[[str], Any]
    windows: list[ScriptedWindow] = field(default_factory=list)

    async def open(self, url: str, options: Mapping[str, Any]) -> ScriptedWindow:
        window = ScriptedWindow(await self.script(url))
        self.windows.append(window)
        return window


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


async def token_requests(emulator: ServiceNowEmulator) -> int:
    return (await emulator.stats()).get("POST /oauth_token.do", 0)


async def test_a_redirect_with_another_state_is_refused_before_any_token_request(
    emulator: ServiceNowEmulator,
) -> None:
    async def forged(authorize_url: str) -> list[str]:
        genuine = await approve(emulator, authorize_url)
        return [authorize_url, with_query(genuine, state="forged-by-a-page")]

    manager = ConnectionManager(WindowAuthorizer(ScriptedWindowHost(forged), show_delay=60))
    with pytest.raises(AuthorizationError) as refused:
        await manager.acquire("app", emulator.url, CLIENT_ID)
    assert refused.value.message == "State mismatch"
    assert await token_requests(emulator) == 0
    assert await emulator.tokens() == {"access": [], "refresh": []}
    await manager.aclose()


async def test_a_code_injected_from_another_flow_is_refused_by_pkce(emulator: ServiceNowEmulator) -> None:
    async def inject(authorize_url: str, state: str) -> str:
        return await other_flow_code(emulator)

    manager = ConnectionManager(ScriptedAuthorizer(inject))
    with pytest.raises(AuthorizationError) as refused:
        await manager.acquire("app", emulator.url, CLIENT_ID)
    assert refused.value.message == "Failed to retrieve tokens"
    assert await token_requests(emulator) == 1
    assert await emulator.tokens() == {"access": [], "refresh": []}
    await manager.aclose()


async def test_a_code_and_its_verifier_cannot_be_used_twice_and_no_verifier_is_reused(
    emulator: ServiceNowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifiers: list[str] = []
    codes: list[str] = []
    real_verifier = oauth.new_code_verifier

    def recorded_verifier() -> str:
        verifiers.append(real_verifier())
        return verifiers[-1]

    monkeypatch.setattr(oauth, "new_code_verifier", recorded_verifier)

    async def consent(authorize_url: str, state: str) -> str:
        location = await approve(emulator, authorize_url)
        codes.append(parse_qs(urlsplit(location).query)["code"][0])
        return codes[-1]

    manager = ConnectionManager(ScriptedAuthorizer(consent))
    first = (await manager.acquire("app", emulator.url, CLIENT_ID)).connection
    await manager.release("app", first.key)
    await manager.acquire("app", emulator.url, CLIENT_ID)
    assert len(verifiers) == 2
    assert verifiers[0] != verifiers[1]

    replay = await emulator.hooks.post(
        "/oauth_token.do",
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "code": codes[0],
            "code_verifier": verifiers[0],
            "redirect_uri": f"{emulator.url}/oauth_redirect.do",
        },
    )
    assert replay.status_code in (400, 401), replay.text
    assert "access_token" not in replay.text
    swapped = await emulator.hooks.post(
        "/oauth_token.do",
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "code": await other_flow_code(emulator),
            "code_verifier": verifiers[1],
            "redirect_uri": f"{emulator.url}/oauth_redirect.do",
        },
    )
    assert swapped.status_code in (400, 401), swapped.text
    await manager.aclose()


async def test_a_window_redirect_on_another_origin_is_ignored(emulator: ServiceNowEmulator) -> None:
    async def lure(authorize_url: str) -> list[str]:
        genuine = await approve(emulator, authorize_url)
        state = parse_qs(urlsplit(genuine).query)["state"][0]
        return [
            authorize_url,
            f"https://evil.example/oauth_redirect.do?code=stolen&state={state}",
            f"{emulator.url}/oauth_redirect.do.evil.example/?code=stolen&state={state}",
            f"{emulator.url}/oauth_redirect.doX?code=stolen&state={state}",
            genuine,
        ]

    manager = ConnectionManager(WindowAuthorizer(ScriptedWindowHost(lure), show_delay=60))
    acquired = await manager.acquire("app", emulator.url, CLIENT_ID)
    assert acquired.connection.current_user["user_name"] == "beth.anglin"
    assert await token_requests(emulator) == 1
    await manager.aclose()


async def test_an_authorize_page_redirecting_to_another_origin_is_not_followed() -> None:
    with trap_server() as elsewhere:
        lure = f"{elsewhere.url}/oauth_redirect.do?code=stolen&state=whatever"
        with trap_server(redirect_to=lure) as instance:
            manager = ConnectionManager(HttpAuthorizer())
            with pytest.raises(AuthorizationError) as refused:
                await manager.acquire("app", instance.url, CLIENT_ID)
            await manager.aclose()
        assert refused.value.message == "Failed to complete authorization code flow"
        assert elsewhere.connections == 0
        assert instance.requests
        assert all(r.startswith("GET /oauth_auth.do?") for r in instance.requests)


@pytest.mark.parametrize(
    "override", ["redirect_uri", "state", "code_challenge", "code_challenge_method", "client_id"]
)
async def test_auth_flow_params_cannot_override_the_protocol(
    emulator: ServiceNowEmulator, override: str
) -> None:
    manager = ConnectionManager(HttpAuthorizer())
    with pytest.raises(ParameterError):
        await manager.acquire("app", emulator.url, CLIENT_ID, (), {override: "https://evil.example/cb"})
    assert (await emulator.stats()).get("GET /oauth_auth.do", 0) == 0
    await manager.aclose()


async def test_the_instance_never_redirects_a_code_to_an_unregistered_origin(
    emulator: ServiceNowEmulator,
) -> None:
    with trap_server() as elsewhere:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": f"{elsewhere.url}/oauth_redirect.do",
                "state": "s",
                "code_challenge": create_s256_code_challenge(secrets.token_hex(64)),
                "code_challenge_method": "S256",
            }
        )
        response = await emulator.hooks.get(f"/oauth_auth.do?{query}")
        location = response.headers.get("location", "")
        with contextlib.suppress(httpx.HTTPError):
            response.raise_for_status()
    assert not location.startswith(elsewhere.url)
    assert elsewhere.connections == 0
