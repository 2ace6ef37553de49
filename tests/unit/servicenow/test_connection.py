"""Connection behaviour against an instance behind httpx.MockTransport: request shape, refresh, retries."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from adapter.servicenow.connection import ConnectionOptions, ConnectionState
from adapter.servicenow.errors import (
    ApiRequestError,
    AuthTokenExpiredError,
    NotConnectedError,
    ParameterError,
)
from adapter.servicenow.retry import RetryPolicy
from tests.unit.servicenow.fakes import USER, FakeInstance, signed_in

FAST = ConnectionOptions(retry=RetryPolicy(base_delay=0.001, max_delay=0.001))


async def test_current_user_is_read_from_sys_user_after_sign_in() -> None:
    connection = await signed_in(FakeInstance())
    assert connection.current_user == USER
    assert connection.state is ConnectionState.CONNECTED


async def test_get_sends_accept_json_and_the_bearer_token_and_no_body() -> None:
    instance = FakeInstance()
    connection = await signed_in(instance)
    await connection.execute("api/now/table/incident?sysparm_limit=1")
    (request,) = instance.api_requests()
    assert str(request.url) == "https://acme.service-now.com/api/now/table/incident?sysparm_limit=1"
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == "Bearer access-token-number-1"
    assert "content-type" not in request.headers
    assert request.content == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_writes_send_json_with_a_default_content_type(method: str) -> None:
    instance = FakeInstance()
    connection = await signed_in(instance)
    await connection.execute("/api/now/table/incident", method, {"short_description": "Printer"})
    (request,) = instance.api_requests()
    assert request.method == method
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"short_description": "Printer"}


async def test_caller_content_type_and_accept_win_and_strings_go_raw() -> None:
    instance = FakeInstance()
    connection = await signed_in(instance)
    await connection.execute(
        "/api/now/table/incident",
        "post",
        "<xml/>",
        headers={"content-type": "application/xml", "Accept": "*/*"},
    )
    (request,) = instance.api_requests()
    assert request.headers.get_list("content-type") == ["application/xml"]
    assert request.headers.get_list("accept") == ["*/*"]
    assert request.content == b"<xml/>"


@pytest.mark.parametrize("data", [{"a": "1"}, "", 0])
async def test_data_on_a_get_fails_as_the_official_fetch_and_sends_nothing(data: object) -> None:
    instance = FakeInstance()
    connection = await signed_in(instance)
    with pytest.raises(ApiRequestError) as raised:
        await connection.execute("/api/now/table/incident", "get", data)
    assert raised.value.message == "Request with GET/HEAD method cannot have body."
    assert raised.value.status is None
    assert instance.api_requests() == []
    await connection.execute("/api/now/table/incident", "DELETE", {"a": "1"})  # positive control
    assert len(instance.api_requests()) == 1


async def test_suppress_response_body_sends_the_servicenow_header() -> None:
    instance = FakeInstance(api=lambda request: httpx.Response(200))
    connection = await signed_in(instance)
    response = await connection.execute("/api/now/table/incident/1", "PATCH", {"a": "1"}, True)
    assert instance.api_requests()[0].headers["x-no-response-body"] == "true"
    assert response.to_wire() == {"status": 200}


async def test_a_bad_endpoint_sends_nothing() -> None:
    instance = FakeInstance()
    connection = await signed_in(instance)
    before = len(instance.requests)
    with pytest.raises(ParameterError):
        await connection.execute("https://evil.example/x")
    with pytest.raises(ParameterError):
        await connection.execute("/api", headers={"Authorization": "Basic x"})
    with pytest.raises(ParameterError):
        await connection.execute("/api", "POST", {"not": object()})
    assert len(instance.requests) == before


async def test_an_endpoint_read_before_is_checked_as_strictly_and_the_memory_of_them_is_bounded() -> None:
    instance = FakeInstance()
    connection = await signed_in(instance, options=ConnectionOptions(allowed_paths=("/api/now/",)))
    await connection.execute("/api/now/table/incident")
    await connection.execute("/api/now/table/incident")
    # Refused endpoints are refused every time, before and after allowed ones were read.
    for _ in range(2):
        with pytest.raises(ParameterError, match="only paths under /api/now/"):
            await connection.execute("/api/sn_sc/servicecatalog/items")
        with pytest.raises(ParameterError):
            await connection.execute("/api/now/../oauth_token.do")
    for index in range(1_100):
        await connection.execute(f"/api/now/table/incident?sysparm_offset={index}")
    assert len(connection._targets) <= 1_024  # the bound on what a connection remembers
    requests = instance.api_requests()
    assert len(requests) == 2 + 1_100
    assert str(requests[-1].url).endswith("/api/now/table/incident?sysparm_offset=1099")


async def test_a_401_refreshes_once_and_retries_once() -> None:
    answers = iter(
        [
            httpx.Response(401, json={"error": {"message": "User Not Authenticated"}}),
            httpx.Response(200, json={"result": {"ok": "1"}}),
        ]
    )
    instance = FakeInstance(api=lambda request: next(answers))
    connection = await signed_in(instance)
    response = await connection.execute("/api/now/table/incident")
    assert response.data == {"ok": "1"}
    sent = [r.headers["authorization"] for r in instance.api_requests()]
    assert sent == ["Bearer access-token-number-1", "Bearer access-token-number-2"]


async def test_a_second_401_after_refresh_is_an_api_request_error() -> None:
    instance = FakeInstance(
        api=lambda request: httpx.Response(
            401, json={"error": {"message": "User Not Authenticated", "detail": None}}
        )
    )
    connection = await signed_in(instance)
    with pytest.raises(ApiRequestError, match=r"^User Not Authenticated$") as caught:
        await connection.execute("/api/now/table/incident")
    assert caught.value.status == 401
    assert instance.issued == 2


async def test_concurrent_401s_share_one_refresh() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer access-token-number-1":
            return httpx.Response(401)
        return httpx.Response(200, json={"result": []})

    instance = FakeInstance(api=api)
    connection = await signed_in(instance)
    await asyncio.gather(*(connection.execute("/api/now/table/incident") for _ in range(50)))
    assert instance.issued == 2


async def test_the_token_is_refreshed_ahead_of_expiry() -> None:
    now = [1000.0]
    instance = FakeInstance(expires_in=1799)
    connection = await signed_in(instance, clock=lambda: now[0], options=ConnectionOptions(refresh_margin=60))
    now[0] += 1799 - 59
    await connection.execute("/api/now/table/incident")
    assert instance.issued == 2
    assert instance.api_requests()[0].headers["authorization"] == "Bearer access-token-number-2"


async def test_a_refused_refresh_expires_the_connection_and_tells_listeners() -> None:
    instance = FakeInstance(api=lambda request: httpx.Response(401))
    connection = await signed_in(instance)
    states: list[ConnectionState] = []
    connection.add_listener(lambda _connection, state: states.append(state))
    instance.refuse_refresh = True
    with pytest.raises(AuthTokenExpiredError, match=r"^Failed to refresh access token$"):
        await connection.execute("/api/now/table/incident")
    assert connection.state is ConnectionState.EXPIRED
    assert states == [ConnectionState.EXPIRED]
    with pytest.raises(AuthTokenExpiredError):
        await connection.execute("/api/now/table/incident")


async def test_get_is_retried_after_a_server_error_but_post_is_not() -> None:
    answers = iter([httpx.Response(503, text="down"), httpx.Response(200, json={"result": {"a": "1"}})])
    instance = FakeInstance(api=lambda request: next(answers))
    connection = await signed_in(instance, options=FAST)
    assert (await connection.execute("/api/now/table/incident")).data == {"a": "1"}

    posts = FakeInstance(api=lambda request: httpx.Response(503, text="down"))
    connection = await signed_in(posts, options=FAST)
    with pytest.raises(ApiRequestError) as caught:
        await connection.execute("/api/now/table/incident", "POST", {})
    assert caught.value.status == 503
    assert len(posts.api_requests()) == 1


async def test_a_post_that_never_left_is_retried() -> None:
    calls = {"n": 0}

    def api(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(201, json={"result": {"sys_id": "1"}})

    connection = await signed_in(FakeInstance(api=api), options=FAST)
    assert (await connection.execute("/api/now/table/incident", "POST", {})).status == 201
    assert calls["n"] == 2


async def test_a_post_whose_connection_dropped_is_not_retried() -> None:
    calls = {"n": 0}

    def api(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    connection = await signed_in(FakeInstance(api=api), options=FAST)
    with pytest.raises(ApiRequestError, match="Server disconnected"):
        await connection.execute("/api/now/table/incident", "POST", {})
    assert calls["n"] == 1


async def test_close_revokes_access_then_refresh_and_reports_it() -> None:
    instance = FakeInstance()
    connection = await signed_in(instance)
    states: list[ConnectionState] = []
    connection.add_listener(lambda _connection, state: states.append(state))
    assert await connection.close() is True
    revoke_requests = [r for r in instance.requests if r.url.path == "/oauth_revoke_token.do"]
    assert {r.headers["accept"] for r in revoke_requests} == {"application/json"}
    revokes = [
        dict(httpx.QueryParams(r.content.decode()))
        for r in instance.requests
        if r.url.path == "/oauth_revoke_token.do"
    ]
    assert [(r["token"], r["token_type_hint"]) for r in revokes] == [
        ("access-token-number-1", "access_token"),
        ("refresh-token-original", "refresh_token"),
    ]
    assert states == [ConnectionState.DISCONNECTED]
    with pytest.raises(NotConnectedError):
        await connection.execute("/api/now/table/incident")
    assert await connection.close() is False


async def test_a_redirect_is_reported_never_followed() -> None:
    instance = FakeInstance(
        api=lambda request: httpx.Response(302, headers={"Location": "https://evil.example/steal"})
    )
    connection = await signed_in(instance)
    with pytest.raises(ApiRequestError) as caught:
        await connection.execute("/api/now/table/incident")
    assert caught.value.status == 302
    assert [r.url.host for r in instance.requests] == ["acme.service-now.com"] * len(instance.requests)
    assert len(instance.api_requests()) == 1


async def test_a_token_shorter_lived_than_the_margin_is_not_refreshed_on_every_request() -> None:
    now = [1000.0]
    instance = FakeInstance(expires_in=30)
    connection = await signed_in(instance, clock=lambda: now[0], options=ConnectionOptions(refresh_margin=60))
    await connection.execute("/api/now/table/incident")
    assert instance.issued == 1
    now[0] += 16
    await connection.execute("/api/now/table/incident")
    assert instance.issued == 2
