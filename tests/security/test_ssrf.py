"""The SSRF and header-injection catalogue, sent by a node-adapter app through the adapter.

A second local server (the trap) stands where an attacker wants the adapter's bearer token to go. Whatever
an app puts in ``apiEndpoint``, ``headers`` or ``instanceUrl``, the trap receives not even a TCP
connection: each attempt is refused with ``ParameterError`` (or ``NotConnectedError`` for an instance the
app holds no share of) or stays a path on the connected instance, which answers it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.adapter.conftest import App, AppError
from tests.reliability.desktop import Desktop, desktop
from tests.security.trap import Trap, trap_server

REFUSED = {"ParameterError", "NotConnectedError"}
ON_INSTANCE = "ApiRequestError"  # the instance itself answered (400/404) a path that stayed on it


def endpoint_catalogue(trap: str) -> list[str]:
    """Endpoints that try to leave the instance; ``trap`` is ``host:port``."""
    return [
        f"http://{trap}/api/now/table/incident",
        f"https://{trap}/",
        f"HTTP://{trap}/",
        f"hTtP://{trap}/",
        f"//{trap}/api/now/table/incident",
        f"///{trap}/x",
        f"////{trap}/x",
        f"\\\\{trap}\\x",
        f"/\\{trap}/x",
        f"\\/{trap}/x",
        f"http:{trap}/x",
        f"http:/{trap}/x",
        f"http:\\\\{trap}/x",
        f"@{trap}/x",
        f"/@{trap}/x",
        f"user:pass@{trap}/x",
        f"/api/now/table/incident#@{trap}",
        f"/..//{trap}/x",
        f"/../{trap}/x",
        f"/./{trap}",
        f"\t//{trap}/x",
        f" //{trap}/x",
        f"\n//{trap}/x",
        f"//{trap}%2f..",
        f"/api\r\nHost: {trap}\r\n\r\n",
        f"/x HTTP/1.1\r\nHost: {trap}\r\n\r\nGET /",
        f"/x\x00//{trap}",
        f"ftp://{trap}/x",
        f"ws://{trap}/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        f"data:text/plain,{trap}",
        f"%2F%2F{trap}/x",
        f"/%2F%2F{trap}/x",
        f"/%5C%5C{trap}/x",
        f"\uff0f\uff0f{trap}/x",
        f"/\u2215\u2215{trap}/x",
        f"{trap}/x",
        f"http://{trap.replace('127.0.0.1', '2130706433')}/",
        f"http://{trap.replace('127.0.0.1', '0x7f.1')}/",
        f"http://{trap.replace('127.0.0.1', 'localhost')}/",
        f"http://[::ffff:127.0.0.1]:{trap.rsplit(':', 1)[1]}/",
    ]


def header_catalogue(trap: str) -> list[dict[str, str]]:
    """Headers that try to redirect, re-authenticate or smuggle a request."""
    return [
        {"Host": trap},
        {"host": trap},
        {"HOST": trap},
        {"Authorization": "Bearer stolen"},
        {"authorization": "Basic YWRtaW46YWRtaW4="},
        {"Proxy-Authorization": "Basic YWRtaW46YWRtaW4="},
        {"X-Note": f"ok\r\nHost: {trap}"},
        {"X-Note": f"ok\nHost: {trap}"},
        {"X-Note": f"ok\rHost: {trap}"},
        {f"X-Note\r\nHost: {trap}\r\nX-Other": "1"},
        {"X-Note: 1\r\nHost": trap},
        {":authority": trap},
        {"X-Note": "ok\x00"},
        {"Content-Length": f"0\r\n\r\nGET http://{trap}/ HTTP/1.1"},
        {"Transfer-Encoding": "chunked"},
        {"Connection": "keep-alive, Host"},
        {"X-Forwarded-Host": trap},
        {"Forwarded": f"host={trap}"},
        {"X-Note": "é"},
        {"": "empty name"},
        {"X Note": "space in name"},
    ]


@pytest.fixture(scope="module")
def trap() -> Iterator[Trap]:
    with trap_server() as server:
        yield server


@pytest.fixture(scope="module")
def stack() -> Iterator[Desktop]:
    with desktop() as running:
        yield running


@pytest.fixture(scope="module")
def app(stack: Desktop) -> App:
    attacker = stack.app("ssrf-attacker")
    attacker.connect()
    return attacker


def outcome(app: App, payload: dict[str, Any]) -> str:
    refused: AppError | None = None
    try:
        app.dispatch("servicenow.request", payload)
    except AppError as error:
        refused = error
    if refused is None:
        return "answered"
    assert refused.reason.startswith(f"{refused.name}: "), refused.error
    return str(refused.name)


def test_no_endpoint_in_the_catalogue_reaches_another_host(app: App, trap: Trap) -> None:
    outcomes = {
        (endpoint, method): outcome(app, {"apiEndpoint": endpoint, "httpMethod": method})
        for endpoint in endpoint_catalogue(trap.host)
        for method in ("GET", "POST")
    }
    assert trap.connections == 0, trap.requests
    assert set(outcomes.values()) <= REFUSED | {ON_INSTANCE}, outcomes
    absolute = [key for key in outcomes if "://" in key[0] or key[0].startswith(("//", "\\"))]
    assert all(outcomes[key] == "ParameterError" for key in absolute), outcomes


def test_no_header_in_the_catalogue_redirects_reauthenticates_or_smuggles(app: App, trap: Trap) -> None:
    outcomes = [
        (
            headers,
            outcome(app, {"apiEndpoint": "/api/now/table/sys_user?sysparm_limit=1", "headers": headers}),
        )
        for headers in header_catalogue(trap.host)
    ]
    assert trap.connections == 0, trap.requests
    for headers, result in outcomes:
        lowered = {name.lower() for name in headers}
        if lowered & {"host", "authorization", ":authority"} or any(
            "\r" in text or "\n" in text or "\x00" in text for pair in headers.items() for text in pair
        ):
            assert result == "ParameterError", (headers, result)
        else:
            assert result in REFUSED | {ON_INSTANCE, "answered"}, (headers, result)


def test_a_request_naming_another_instance_is_refused_before_any_io(
    stack: Desktop, app: App, trap: Trap
) -> None:
    for instance_url in (trap.url, f"{trap.url}/", f"{stack.instance}@{trap.host}", f"http://x@{trap.host}"):
        assert (
            outcome(app, {"apiEndpoint": "/api/now/table/incident", "instanceUrl": instance_url}) in REFUSED
        )
    assert trap.connections == 0, trap.requests


def test_an_instance_url_that_hides_another_host_is_refused_at_connect(stack: Desktop, trap: Trap) -> None:
    app = stack.app("ssrf-connector")
    tricks = [
        f"{stack.instance}@{trap.host}",
        f"http://user:pw@{trap.host}",
        f"{stack.instance}\\@{trap.host}",
        f"{stack.instance}\r\n@{trap.host}",
        f"javascript://{trap.host}",
        f"file://{trap.host}/x",
    ]
    for instance_url in tricks:
        with pytest.raises(AppError) as refused:
            app.connect(instanceUrl=instance_url)
        assert refused.value.name == "ParameterError", (instance_url, refused.value.error)
    assert trap.connections == 0, trap.requests


def test_the_connected_app_still_works_after_the_catalogue(stack: Desktop, app: App) -> None:
    assert stack.adapter_alive()
    assert app.request("/api/now/table/sys_user?sysparm_limit=1")["status"] == 200
