"""Serve the emulator on uvicorn inside the caller's event loop until ``stop`` is set."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import ssl
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog
import uvicorn
from starlette.types import ASGIApp

from adapter.emulators.servicenow.app import create_app
from adapter.emulators.servicenow.tls import TlsFiles, make_certificates
from adapter.lifecycle import StartupError, announce_ready

log = structlog.get_logger(__name__)
STARTUP_TIMEOUT = 30.0


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner (``stop`` event, test fixtures)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; with ``port=0`` the OS picks a free port (read it with ``getsockname``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Name IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, and accepted
    # sockets inherit proto 0 otherwise, so a response written as headers then body would wait for the
    # client's delayed ACK on every reused connection (Nagle; docs/performance.md, "What was changed").
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if sys.platform != "win32":
            # On Windows SO_REUSEADDR lets another process steal the port, so only POSIX sets it.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket, scheme: str = "http") -> str:
    """The ``http://host:port`` (or ``https``) a bound socket serves."""
    host, port = sock.getsockname()[:2]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


async def start(
    app: ASGIApp, sock: socket.socket, *, shutdown_grace: int = 5, tls: TlsFiles | None = None
) -> tuple[EmbeddedServer, asyncio.Task[None]]:
    """Run ``app`` on ``sock`` in this loop (over TLS with ``tls``); returns once it accepts connections.

    On shutdown, requests still running after ``shutdown_grace`` seconds are cancelled.
    """
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=shutdown_grace,
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
    )
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(STARTUP_TIMEOUT):
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the emulator stopped during start-up")
            await asyncio.sleep(0.01)
    return server, task


async def stop_server(server: EmbeddedServer, task: asyncio.Task[None]) -> None:
    """Ask uvicorn to finish open requests and stop, then wait for it."""
    server.should_exit = True
    await task


@dataclass(frozen=True, slots=True)
class TlsRequest:
    """What ``emulate servicenow`` was asked for: ``--tls`` (make a CA and certificate, the CA written to
    ``ca_out``, valid also for ``names``) or given ``--tls-cert``/``--tls-key`` files."""

    ca_out: Path
    names: tuple[str, ...] = ()
    cert: Path | None = None
    key: Path | None = None


async def serve(
    stop: asyncio.Event,
    *,
    host: str,
    port: int,
    db: Path | None,
    auto_login: str | None,
    tls: TlsRequest | None = None,
) -> int:
    """``servicenow-adapter emulate servicenow``: serve until ``stop`` is set; 0 on a clean stop."""
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    with sock, tempfile.TemporaryDirectory(prefix="servicenow-emulator-tls-") as folder:
        try:
            app = create_app(db=db, auto_login=auto_login)
            files = _tls_files(tls, Path(folder), host) if tls is not None else None
        except (OSError, ValueError, sqlite3.Error) as exc:
            raise StartupError(f"cannot start the emulator (database {db or ':memory:'}): {exc}") from None
        try:
            server, task = await start(app, sock, tls=files)
        except (OSError, ssl.SSLError) as exc:  # unreadable or mismatched --tls-cert/--tls-key
            raise StartupError(f"cannot serve https with the given certificate and key: {exc}") from None
        url = url_of(sock, "https" if files else "http")
        log.info("emulator.listening", url=url, db=str(db) if db else ":memory:", auto_login=auto_login)
        if files is not None and files.ca is not None:
            log.info("emulator.tls_ca", ca=str(files.ca), hint="trust it with --ca-bundle or SSL_CERT_FILE")
        announce_ready(url)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        await stop_server(server, task)
    log.info("emulator.stopped")
    return 0


def _tls_files(tls: TlsRequest, folder: Path, host: str) -> TlsFiles:
    if tls.cert is not None and tls.key is not None:
        return TlsFiles(cert=tls.cert, key=tls.key)
    return make_certificates(folder, tls.ca_out, names=(host, *tls.names))
