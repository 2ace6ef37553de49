"""A second local server that must receive nothing: it counts every TCP connection made to it.

``Trap`` listens on 127.0.0.1 in a background thread. Tests point hostile inputs at it (URLs, Host headers,
redirects) and assert ``trap.connections == 0``. ``redirect_to`` makes it answer every request with a 302
there, to stand in for an instance whose authorize page sends the browser elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import socket
from typing import Any


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, trap: Trap) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.trap = trap

    def get_request(self) -> tuple[socket, Any]:
        accepted = super().get_request()
        with self.trap.lock:
            self.trap.connections += 1
        return accepted


class _Handler(BaseHTTPRequestHandler):
    server: _CountingServer

    def _answer(self) -> None:
        trap = self.server.trap
        with trap.lock:
            trap.requests.append(f"{self.command} {self.path}")
        if trap.redirect_to is not None:
            self.send_response(302)
            self.send_header("Location", trap.redirect_to)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the counts are what the tests read."""


class Trap:
    """The second server: ``url``, ``connections`` (TCP accepts) and ``requests`` (``METHOD path``)."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.redirect_to = redirect_to
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[str] = []
        self._server = _CountingServer(self)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"

    def serve(self) -> None:
        """Serve until ``close``."""
        self._server.serve_forever(poll_interval=0.05)

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def trap_server(redirect_to: str | None = None) -> Iterator[Trap]:
    """A running ``Trap`` for the length of the block."""
    trap = Trap(redirect_to)
    thread = threading.Thread(target=trap.serve, name="trap", daemon=True)
    thread.start()
    try:
        yield trap
    finally:
        trap.close()
        thread.join(timeout=10)
