"""Requests against the emulator over real HTTP: the official shapes, the error mapping, politeness
(429, retries for GET only, never a second POST) and SSRF refusals checked with a second local server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from adapter.servicenow.connection import Connection
from adapter.servicenow.errors import ApiError, ApiRequestError, ParameterError
from tests.integration.servicenow_client.conftest import CASES, CLIENT_ID, ManagerFactory
from tests.support.servicenow_emulator import ServiceNowEmulator


@pytest.fixture
async def connection(emulator: ServiceNowEmulator, make_manager: ManagerFactory) -> Connection:
    connection = (await make_manager().acquire("app-1", emulator.url, CLIENT_ID)).connection
    await emulator.reset_stats()
    return connection


async def count_cases(connection: Connection, description: str) -> int:
    response = await connection.execute(
        f"{CASES}?sysparm_query=short_description={description}&sysparm_fields=sys_id"
    )
    assert isinstance(response.data, list)
    return len(response.data)


async def test_crud_returns_the_official_response_shapes(connection: Connection) -> None:
    created = await connection.execute(CASES, "POST", {"short_description": "Printer on fire"})
    assert created.status == 201
    assert created.type is not None
    assert created.type.startswith("application/json")
    assert isinstance(created.data, dict)
    sys_id = created.data["sys_id"]
    patched = await connection.execute(
        f"{CASES}/{sys_id}", "PATCH", {"state": "10"}, suppress_response_body=True
    )
    assert patched.to_wire()["status"] in (200, 204)
    assert "data" not in patched.to_wire()
    read = await connection.execute(f"{CASES}/{sys_id}?sysparm_fields=state,sys_mod_count")
    assert read.data == {"state": "10", "sys_mod_count": "1"}
    assert (await connection.execute(f"{CASES}/{sys_id}", "DELETE")).to_wire() == {"status": 204}


async def test_an_empty_list_is_returned_as_an_empty_list(connection: Connection) -> None:
    response = await connection.execute("/api/now/v2/table/sn_customerservice_case?sysparm_query=number=NONE")
    assert response.to_wire() == {"status": 200, "data": [], "type": "application/json;charset=UTF-8"}


@pytest.mark.parametrize(
    ("endpoint", "method", "status", "message"),
    [
        ("/api/now/table/no_such_table", "GET", 400, "Invalid table no_such_table"),
        ("/api/now/table/sys_user", "POST", 403, "Operation Failed"),
        (f"{CASES}/00000000000000000000000000000000", "GET", 404, "No Record found"),
    ],
)
async def test_instance_errors_map_to_api_request_error_with_status_and_message(
    connection: Connection, endpoint: str, method: str, status: int, message: str
) -> None:
    with pytest.raises(ApiRequestError) as caught:
        await connection.execute(endpoint, method, {"user_name": "x"} if method == "POST" else None)
    assert (caught.value.status, caught.value.message) == (status, message)
    assert caught.value.to_dict()["name"] == "ApiRequestError"


async def test_a_server_error_on_a_write_is_reported_once_with_the_instance_message(
    emulator: ServiceNowEmulator, connection: Connection
) -> None:
    await emulator.add_fault(method="POST", path=CASES, status=500, times=1)
    with pytest.raises(ApiRequestError) as caught:
        await connection.execute(CASES, "POST", {"short_description": "x"})
    assert caught.value.status == 500
    assert caught.value.message == "Transaction cancelled: maximum execution time exceeded"
    assert (await emulator.stats())[f"POST {CASES}"] == 1


async def test_a_401_that_survives_the_refresh_maps_to_auth_errors(
    emulator: ServiceNowEmulator, connection: Connection
) -> None:
    await emulator.advance_clock(8_640_001)
    with pytest.raises(ApiError) as caught:
        await connection.execute(CASES)
    assert caught.value.to_dict() == {
        "name": "AuthTokenExpiredError",
        "message": "Failed to refresh access token",
        "detail": {"error": "server_error", "error_description": "access_denied"},
        "data": {"error": "server_error", "error_description": "access_denied"},
    }


async def test_a_429_is_waited_out_for_get(emulator: ServiceNowEmulator, connection: Connection) -> None:
    await emulator.add_fault(method="GET", path=CASES, status=429, retry_after=1, times=1)
    response = await connection.execute(f"{CASES}?sysparm_limit=1")
    assert response.status == 200
    assert (await emulator.stats())[f"GET {CASES}"] == 2


async def test_a_429_on_a_write_is_reported_not_retried(
    emulator: ServiceNowEmulator, connection: Connection
) -> None:
    await emulator.add_fault(method="POST", path=CASES, status=429, retry_after=1, times=1)
    with pytest.raises(ApiRequestError) as caught:
        await connection.execute(CASES, "POST", {"short_description": "x"})
    assert (caught.value.status, caught.value.message) == (429, "Rate limit exceeded")
    assert (await emulator.stats())[f"POST {CASES}"] == 1


async def test_an_unavailable_instance_is_retried_for_get(
    emulator: ServiceNowEmulator, connection: Connection
) -> None:
    await emulator.add_fault(method="GET", path=CASES, status=503, times=2)
    response = await connection.execute(f"{CASES}?sysparm_limit=1")
    assert response.status == 200
    assert (await emulator.stats())[f"GET {CASES}"] == 3


async def test_a_post_whose_connection_dropped_is_not_sent_again(
    emulator: ServiceNowEmulator, connection: Connection
) -> None:
    description = f"dropped-{uuid.uuid4().hex}"
    await emulator.add_fault(method="POST", path=CASES, drop="after", times=1)
    with pytest.raises(ApiRequestError):
        await connection.execute(CASES, "POST", {"short_description": description})
    assert (await emulator.stats())[f"POST {CASES}"] == 1
    assert await count_cases(connection, description) == 1


async def test_a_get_whose_connection_dropped_is_retried(
    emulator: ServiceNowEmulator, connection: Connection
) -> None:
    await emulator.add_fault(method="GET", path=CASES, drop="before", times=1)
    assert (await connection.execute(f"{CASES}?sysparm_limit=1")).status == 200
    assert (await emulator.stats())[f"GET {CASES}"] == 2


class Recorder:
    """Another local HTTP server: anything that reaches it is a leak."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    recorder = Recorder()
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    recorder.port = server.sockets[0].getsockname()[1]
    async with server:
        yield recorder


def hostile_endpoints(port: int) -> list[str]:
    other = f"127.0.0.1:{port}"
    return [
        f"http://{other}/api/now/table/incident",
        f"HTTP://{other}",
        f"//{other}/api",
        f"\\\\{other}/api",
        f"/\\{other}/api",
        f"@{other}/api",
        f"user@{other}/api",
        f"http:{other}",
        f"/api/now/table/incident\r\nHost: {other}",
        f"/api/%0d%0aHost:%20{other}",
        "/api/now/../../__emulator/tokens",
        "/api/%2e%2e/%2e%2e/__emulator/tokens",
        f"/api#@{other}",
        f"javascript://{other}",
    ]


async def test_endpoints_that_are_not_paths_are_refused_and_reach_no_host(
    emulator: ServiceNowEmulator, connection: Connection, recorder: Recorder
) -> None:
    for endpoint in hostile_endpoints(recorder.port):
        for method in ("GET", "POST"):
            with pytest.raises(ParameterError):
                await connection.execute(endpoint, method, {"a": "b"})
    assert recorder.connections == 0
    assert await emulator.stats() == {}


async def test_headers_cannot_redirect_or_reauthenticate_a_request(
    emulator: ServiceNowEmulator, connection: Connection, recorder: Recorder
) -> None:
    other = f"127.0.0.1:{recorder.port}"
    for headers in (
        {"Host": other},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Cookie": "JSESSIONID=x"},
        {"X-Forwarded-Host": other},
        {"X-A": f"b\r\nHost: {other}"},
        {"X-HTTP-Method-Override": "DELETE"},
    ):
        with pytest.raises(ParameterError):
            await connection.execute(CASES, headers=headers)
    assert recorder.connections == 0
    assert await emulator.stats() == {}


async def test_a_retry_after_longer_than_the_deadline_is_reported_at_once(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    # Move to the start of an hourly rate-limit window, so the instance asks to wait about an hour.
    now = datetime.fromisoformat((await emulator.hooks.get("/__emulator/clock")).json()["now"])
    await emulator.advance_clock(3600 - (now.minute * 60 + now.second) + 1)
    connection = (await make_manager().acquire("app-1", emulator.url, CLIENT_ID)).connection
    await emulator.set_rate_limit(3)
    await emulator.reset_stats()
    sent, refusal = await first_refusal(connection, attempts=10)
    assert refusal is not None
    assert (refusal.status, refusal.message) == (429, "Rate limit exceeded")
    assert (await emulator.stats())[f"GET {CASES}"] == sent


async def first_refusal(connection: Connection, *, attempts: int) -> tuple[int, ApiRequestError | None]:
    """How many GETs were sent until the first error (and that error)."""
    for sent in range(1, attempts + 1):
        try:
            await connection.execute(f"{CASES}?sysparm_limit=1")
        except ApiRequestError as error:
            return sent, error
    return attempts, None
