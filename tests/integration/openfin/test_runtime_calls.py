"""``RuntimeCalls`` against the runtime emulator (a real subprocess) and a tiny local web site."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from adapter.openfin import AppWindow, RuntimeCalls, RuntimeConnection, RuntimeConnectionState, WindowEvent
from tests.support.processes import adapter_command, running


class Site(BaseHTTPRequestHandler):
    """``/start`` redirects to ``/landing``; every other path is a small page."""

    def do_GET(self) -> None:
        if self.path == "/start":
            self.send_response(302)
            self.send_header("Location", "/landing?step=2")
            self.end_headers()
            return
        body = b"<html><head><title>page</title></head><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is for failures."""


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def runtime_address() -> Iterator[str]:
    with running(adapter_command("emulate", "runtime", "--port", "0")) as emulator:
        yield emulator.target


@pytest.fixture
async def connection(runtime_address: str) -> AsyncIterator[RuntimeConnection]:
    async with RuntimeConnection(runtime_address, "py-calls") as connected:
        yield connected


async def collect(window: AppWindow, until: str) -> list[WindowEvent]:
    seen: list[WindowEvent] = []
    async with asyncio.timeout(20):
        async for event in window.events():
            seen.append(event)
            if event.type == until and (until != "url-changed" or (event.url or "").endswith("step=2")):
                break
    return seen


async def test_version_and_runtime_info_describe_the_runtime(
    connection: RuntimeConnection, runtime_address: str
) -> None:
    calls = RuntimeCalls(connection)

    version = await calls.get_version()
    info = await calls.get_runtime_info()

    assert version.count(".") == 3
    assert info.port == int(runtime_address.rsplit(":", 1)[1])


async def test_a_registered_external_connection_token_lets_another_process_connect(
    connection: RuntimeConnection, runtime_address: str
) -> None:
    grant = await RuntimeCalls(connection).register_external_connection("py-sponsored")

    async with RuntimeConnection(runtime_address, grant.uuid, token=grant.token) as sponsored:
        assert sponsored.state is RuntimeConnectionState.CONNECTED
        assert await RuntimeCalls(sponsored).get_version()


async def test_open_url_with_browser_hands_the_url_to_the_runtime(connection: RuntimeConnection) -> None:
    await RuntimeCalls(connection).open_url_with_browser("https://example.com/oauth_auth.do?x=1")

    assert await connection.request("emulator-get-browser-urls") == ["https://example.com/oauth_auth.do?x=1"]


async def test_a_window_reports_every_url_it_loads_and_follows_navigation(
    connection: RuntimeConnection, site: str
) -> None:
    window = await RuntimeCalls(connection).open_window(f"{site}/start")

    first = await collect(window, "url-changed")
    await window.navigate(f"{site}/elsewhere?step=2")
    second = await collect(window, "url-changed")
    await window.close()

    assert [e.url for e in first] == [f"{site}/start", f"{site}/landing?step=2"]
    assert [e.url for e in second] == [f"{site}/elsewhere?step=2"]
    assert window.closed
    assert [e async for e in window.events()] == [], "a closed window's event stream ends"


async def test_a_window_closed_by_the_user_reports_closing_then_closed(
    connection: RuntimeConnection, runtime_address: str, site: str
) -> None:
    window = await RuntimeCalls(connection).open_window(f"{site}/landing?step=2")
    await collect(window, "url-changed")

    # Another party closes it, as a user clicking the close button would.
    async with RuntimeConnection(runtime_address, "py-user") as user:
        await user.request("close-window", {**window.identity.to_wire(), "force": True})
        seen = await collect(window, "closed")

    assert [e.type for e in seen] == ["closing", "closed"]
    assert window.closed
    await window.close()
