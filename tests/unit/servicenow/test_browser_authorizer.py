"""The browser authorizer's loopback listener, driven by a plain HTTP client."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapter.servicenow.authorizers import BrowserAuthorizer
from adapter.servicenow.authorizers.browser import request_target
from adapter.servicenow.errors import AuthorizationError

INSTANCE_REDIRECT = "https://acme.service-now.com/oauth_redirect.do"


async def test_the_callback_on_loopback_completes_the_attempt_and_other_paths_are_not_found() -> None:
    opened: list[str] = []

    def open_url(url: str) -> bool:
        opened.append(url)
        return True

    authorizer = BrowserAuthorizer(open_url=open_url, timeout=5)
    async with authorizer.attempt(INSTANCE_REDIRECT) as attempt:
        assert urlsplit(attempt.redirect_uri).hostname == "127.0.0.1"
        assert attempt.redirect_uri.endswith("/oauth/callback")
        authorize_url = (
            f"https://acme.service-now.com/oauth_auth.do?state=s1&redirect_uri={attempt.redirect_uri}"
        )
        completing = asyncio.create_task(attempt.complete(authorize_url, "s1"))
        async with httpx.AsyncClient(timeout=5, trust_env=False) as browser:
            stray = await browser.get(attempt.redirect_uri.replace("/oauth/callback", "/favicon.ico"))
            assert stray.status_code == 404
            redirect = parse_qs(urlsplit(authorize_url).query)["redirect_uri"][0]
            landing = await browser.get(f"{redirect}?code=the-code&state=s1")
            assert landing.status_code == 200
            assert "close this tab" in landing.text
        async with asyncio.timeout(5):
            assert await completing == "the-code"
    assert opened == [authorize_url]


async def test_a_browser_that_cannot_be_opened_fails_the_flow() -> None:
    authorizer = BrowserAuthorizer(open_url=lambda url: False, timeout=5)
    async with authorizer.attempt(INSTANCE_REDIRECT) as attempt:
        with pytest.raises(AuthorizationError, match=r"^Failed to complete authorization code flow$"):
            await attempt.complete("https://acme.service-now.com/oauth_auth.do", "s1")


def test_request_lines_are_read_strictly() -> None:
    assert request_target(b"GET /oauth/callback?code=1 HTTP/1.1\r\nHost: x\r\n\r\n") == (
        "GET",
        "/oauth/callback?code=1",
    )
    assert request_target(b"GET http://evil/ HTTP/1.1\r\n\r\n") is None
    assert request_target(b"garbage\r\n\r\n") is None
    assert request_target(b"GET / HTTP/2\r\n\r\n") is None


async def test_a_taken_redirect_port_is_an_authorization_error_in_words_not_a_bare_os_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        authorizer = BrowserAuthorizer(open_url=lambda _url: True, port=port, timeout=5)
        with pytest.raises(AuthorizationError) as raised:
            async with authorizer.attempt(INSTANCE_REDIRECT):
                pass
    assert raised.value.detail is not None
    assert f"127.0.0.1:{port} is not free" in str(raised.value.detail)
