"""A headless application window, driven through node-adapter, follows redirects and reports every hop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conformance.conftest import NodeScripts


class _RedirectingSite(BaseHTTPRequestHandler):
    """``/start`` -> 302 ``/login`` (sets a cookie) -> 303 ``/landing`` (200 only with the cookie)."""

    def do_GET(self) -> None:
        if self.path == "/start":
            self._redirect(302, "/login", cookie="session=abc123; Path=/")
        elif self.path == "/login":
            self._redirect(303, "/landing?code=xyz")
        elif self.path.startswith("/landing"):
            has_cookie = "session=abc123" in (self.headers.get("Cookie") or "")
            self._page(200 if has_cookie else 401, b"<html><title>Landed</title></html>")
        else:
            self._page(404, b"not found")

    def _redirect(self, status: int, location: str, cookie: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _page(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def site() -> Iterator[str]:
    """The origin of a local site that redirects twice."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RedirectingSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_window_emits_url_changed_for_every_redirect_hop_with_cookies_kept(
    runtime_emulator: str, node_script: NodeScripts, site: str
) -> None:
    result = node_script.run(
        "runtime/window_navigation.mjs",
        {"address": runtime_emulator, "url": f"{site}/start", "until": f"{site}/landing"},
    )

    assert result["urlChanges"] == [
        {"url": f"{site}/start", "httpResponseCode": 302, "isInPage": False},
        {"url": f"{site}/login", "httpResponseCode": 303, "isInPage": False},
        {"url": f"{site}/landing?code=xyz", "httpResponseCode": 200, "isInPage": False},
    ]
    assert result["infoUrl"] == f"{site}/landing?code=xyz"


def test_closing_a_window_emits_closing_closed_and_application_closed(
    runtime_emulator: str, node_script: NodeScripts, site: str
) -> None:
    result = node_script.run(
        "runtime/window_navigation.mjs",
        {"address": runtime_emulator, "url": f"{site}/start", "until": f"{site}/landing"},
    )

    assert result["closeEvents"] == ["window closing", "window closed", "application closed"]
