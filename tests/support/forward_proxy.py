"""A real forward proxy for the corporate-network tests: proxy.py (PyPI), started as its own process.

Host names under ``.test`` stand for the instance: the proxy resolves them to 127.0.0.1, where the
emulator listens, and refuses every other host, so it reaches nothing off this machine. The adapter cannot
resolve those names itself; only the proxy can reach the instance, as on a network whose one way out is
the proxy. Every host the proxy was asked for is appended to a file, so a test can tell that its requests
did go through it. With ``intercept``, the proxy also inspects TLS the way a corporate proxy does: it
answers each CONNECT with a certificate of its own CA and talks to the instance itself.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxy.http.exception import HttpRequestRejected
from proxy.http.parser import HttpParser
from proxy.http.proxy import HttpProxyBasePlugin

from tests.support.processes import ROOT
from tests.support.waiting import eventually_blocking

SEEN_FILE_VARIABLE = "SERVICENOW_TEST_PROXY_SEEN"
START_TIMEOUT = 30.0


class TestDomainsOnLoopback(HttpProxyBasePlugin):
    """Resolves ``*.test`` to 127.0.0.1, refuses every other host, and notes each host asked for."""

    def resolve_dns(self, host: str, port: int) -> tuple[str | None, Any]:
        """``*.test`` is this machine."""
        return ("127.0.0.1", None) if host.endswith(".test") else (None, None)

    def before_upstream_connection(self, request: HttpParser) -> HttpParser | None:
        """Note the host; refuse anything not under ``.test``."""
        host = (request.host or b"").decode("ascii", errors="replace")
        seen = os.environ.get(SEEN_FILE_VARIABLE)
        if seen:
            with open(seen, "a", encoding="utf-8") as out:
                out.write(f"{request.method.decode() if request.method else '?'} {host}:{request.port}\n")
        if not host.endswith(".test"):
            raise HttpRequestRejected(status_code=403, reason=b"Forbidden")
        return request

    def handle_client_request(self, request: HttpParser) -> HttpParser | None:
        """Pass requests on unchanged."""
        return request

    def handle_upstream_chunk(self, chunk: memoryview) -> memoryview | None:
        """Pass answers on unchanged."""
        return chunk

    def on_upstream_connection_close(self) -> None:
        """Nothing to clean up."""


@dataclass(frozen=True)
class Interception:
    """What the proxy needs to inspect TLS: its CA (certificate and key), the key of the certificates it
    makes for each host, and the CA it trusts when it connects to the instance itself."""

    ca_cert: Path
    ca_key: Path
    signing_key: Path
    upstream_ca: Path


@dataclass
class RunningProxy:
    """A started proxy: its URL (credentials included when it asks for some) and the hosts it was asked."""

    url: str
    seen_file: Path
    process: subprocess.Popen[bytes]

    def seen(self) -> list[str]:
        """``METHOD host:port`` of every request the proxy handled, oldest first."""
        if not self.seen_file.exists():
            return []
        return self.seen_file.read_text(encoding="utf-8").splitlines()


@contextlib.contextmanager
def forward_proxy(
    folder: Path, *, credentials: str | None = None, intercept: Interception | None = None
) -> Iterator[RunningProxy]:
    """proxy.py on a free loopback port until the block ends; Basic auth when ``credentials`` (user:pass)."""
    port_file = folder / "proxy.port"
    seen_file = folder / "proxy.seen"
    command = [
        sys.executable,
        "-m",
        "proxy",
        "--hostname",
        "127.0.0.1",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--num-acceptors",
        "1",
        "--num-workers",
        "1",
        "--log-file",
        str(folder / "proxy.log"),
        "--plugins",
        f"{__name__}.TestDomainsOnLoopback",
    ]
    if credentials:
        command += ["--basic-auth", credentials]
    if intercept is not None:
        cert_dir = folder / "intercepted"
        cert_dir.mkdir(exist_ok=True)
        command += [
            "--ca-cert-file",
            str(intercept.ca_cert),
            "--ca-key-file",
            str(intercept.ca_key),
            "--ca-signing-key-file",
            str(intercept.signing_key),
            "--ca-cert-dir",
            str(cert_dir),
            "--ca-file",
            str(intercept.upstream_ca),
        ]
    env = {**os.environ, SEEN_FILE_VARIABLE: str(seen_file), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port = _wait_for_port(port_file, process)
        userinfo = f"{credentials}@" if credentials else ""
        yield RunningProxy(url=f"http://{userinfo}127.0.0.1:{port}", seen_file=seen_file, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_for_port(port_file: Path, process: subprocess.Popen[bytes]) -> int:

    def listening_or_gone() -> bool:
        return process.poll() is not None or (
            port_file.exists() and port_file.read_text(encoding="ascii").endswith("\n")
        )

    eventually_blocking(listening_or_gone, "proxy.py listening", timeout=START_TIMEOUT)
    if process.poll() is not None:
        errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise AssertionError(f"proxy.py exited with {process.returncode}: {errors}")
    return int(port_file.read_text(encoding="ascii").split()[0])
