"""Fault injection through ``/__emulator/faults``: what a client sees for each kind of fault."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.servicenow_emulator.flows import CLIENT_ID, SCRIPTED_API, post_form
from tests.support.servicenow_emulator import ServiceNowEmulator

USER_INFO = f"{SCRIPTED_API}/user_info"
ADMIN = ("admin", "admin")
PASSWORD_GRANT = {"grant_type": "password", "client_id": CLIENT_ID, "username": "admin", "password": "admin"}


async def test_injected_500_has_the_instance_error_envelope(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(path=USER_INFO, status=500)

    response = await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN)

    assert response.status_code == 500
    assert response.json()["status"] == "failure"
    assert response.json()["error"]["message"] == "Transaction cancelled: maximum execution time exceeded"


@pytest.mark.parametrize("status", [502, 503])
async def test_injected_gateway_errors_answer_html_not_json(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient, status: int
) -> None:
    await emulator.add_fault(path=USER_INFO, status=status)

    response = await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_a_503_looks_like_a_hibernating_instance(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(status=503)

    response = await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN)

    assert "hibernating" in response.text


async def test_injected_429_carries_retry_after(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(path="/api/", status=429, retry_after=7)

    response = await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"]["message"] == "Rate limit exceeded"


async def test_times_limits_how_many_requests_a_fault_hits(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(path=USER_INFO, status=500, times=2)

    statuses = [(await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN)).status_code for _ in range(3)]

    assert statuses == [500, 500, 200]


async def test_a_fault_matches_only_its_method_and_path_prefix(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(method="post", path="/oauth_token.do", status=503)

    other_method = await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN)
    matching = await post_form(http, f"{emulator.url}/oauth_token.do", PASSWORD_GRANT)

    assert other_method.status_code == 200
    assert matching.status_code == 503


async def test_clearing_faults_restores_normal_answers(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(status=500)
    await emulator.clear_faults()

    response = await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN)

    assert response.status_code == 200


async def test_faults_never_touch_the_hooks(emulator: ServiceNowEmulator) -> None:
    await emulator.add_fault(path="/", status=500)

    assert await emulator.tokens() == {"access": [], "refresh": []}


async def test_latency_delays_the_answer_past_a_short_client_timeout(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(path=USER_INFO, latency_ms=3000, times=1)

    with pytest.raises(httpx.ReadTimeout):
        await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN, timeout=0.3)


async def test_dropped_connection_before_the_instance_acts_leaves_no_trace(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(path="/oauth_token.do", drop="before", times=1)

    with pytest.raises(httpx.RemoteProtocolError):
        await post_form(http, f"{emulator.url}/oauth_token.do", PASSWORD_GRANT)

    assert await emulator.tokens() == {"access": [], "refresh": []}


async def test_dropped_connection_after_the_instance_acts_hides_a_done_change(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(path="/oauth_token.do", drop="after", times=1)

    with pytest.raises(httpx.RemoteProtocolError):
        await post_form(http, f"{emulator.url}/oauth_token.do", PASSWORD_GRANT)

    assert len((await emulator.tokens())["access"]) == 1


async def test_malformed_json_body_keeps_status_and_content_type(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(path=USER_INFO, malformed_json=True)

    response = await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_slow_body_arrives_whole_but_in_pieces(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    normal = await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN)
    await emulator.add_fault(path=USER_INFO, slow_body_ms=400)

    async with http.stream("GET", f"{emulator.url}{USER_INFO}", auth=ADMIN) as response:
        chunks = [chunk async for chunk in response.aiter_raw()]

    assert len(chunks) > 1
    assert json.loads(b"".join(chunks)) == normal.json()


async def test_slow_body_trips_a_short_read_timeout(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.add_fault(path=USER_INFO, slow_body_ms=4000, times=1)

    with pytest.raises(httpx.ReadTimeout):
        await http.get(f"{emulator.url}{USER_INFO}", auth=ADMIN, timeout=0.3)


@pytest.mark.parametrize(
    "rule",
    [
        {"status": 404},
        {"status": 500, "drop": "before"},
        {"latency_ms": -1},
        {"colour": "red"},
        [{"times": 0}],
    ],
    ids=["unsupported-status", "two-effects", "negative-latency", "unknown-field", "zero-times"],
)
async def test_bad_fault_rules_are_refused_with_400(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient, rule: object
) -> None:
    response = await http.post(f"{emulator.url}/__emulator/faults", json=rule)

    assert response.status_code == 400
    assert (await http.get(f"{emulator.url}/__emulator/faults")).json() == {"faults": []}
