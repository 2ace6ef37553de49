"""The ``/__emulator`` hooks: request statistics and the clock."""

from __future__ import annotations

import httpx

from tests.integration.servicenow_emulator.flows import SCRIPTED_API, bearer, tokens_by_code
from tests.support.servicenow_emulator import ServiceNowEmulator


async def test_stats_count_requests_by_method_and_path_without_query(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await http.get(f"{emulator.url}{SCRIPTED_API}/user_info?a=1", auth=("admin", "admin"))
    await http.get(f"{emulator.url}{SCRIPTED_API}/user_info?b=2")
    await http.post(f"{emulator.url}/oauth_token.do", data={"grant_type": "x"})

    assert await emulator.stats() == {
        f"GET {SCRIPTED_API}/user_info": 2,
        "POST /oauth_token.do": 1,
    }


async def test_stats_can_be_reset(emulator: ServiceNowEmulator, http: httpx.AsyncClient) -> None:
    await http.get(f"{emulator.url}/oauth_redirect.do")
    await emulator.reset_stats()

    assert await emulator.stats() == {}


async def test_clock_hook_reports_the_offset_it_was_moved_by(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.advance_clock(90)
    await emulator.advance_clock(30)

    clock = (await http.get(f"{emulator.url}/__emulator/clock")).json()

    assert clock["offset"] == 120


async def test_clock_hook_refuses_a_body_without_advance(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await http.post(f"{emulator.url}/__emulator/clock", json={"forward": 5})

    assert response.status_code == 400


async def test_reset_forgets_tokens_faults_counts_and_clock(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)
    await auto_emulator.add_fault(path="/oauth_token.do", status=503)
    await auto_emulator.advance_clock(600)

    await auto_emulator.reset()

    assert await auto_emulator.tokens() == {"access": [], "refresh": []}
    assert await auto_emulator.stats() == {}
    assert (await http.get(f"{auto_emulator.url}/__emulator/faults")).json() == {"faults": []}
    assert (await http.get(f"{auto_emulator.url}/__emulator/clock")).json()["offset"] == 0
    gone = await http.get(
        f"{auto_emulator.url}{SCRIPTED_API}/user_info", headers=bearer(tokens["access_token"])
    )
    assert gone.status_code == 401


async def test_wire_keeps_requests_as_they_arrived_without_credentials(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await http.delete(f"{emulator.url}/__emulator/wire")
    await http.post(
        f"{emulator.url}/api/now/table/incident?sysparm_fields=number",
        content=b'{"short_description": "wire"}',
        headers={"Content-Type": "application/json", "X-Tag": "a"},
        auth=("admin", "admin"),
    )
    await http.get(f"{emulator.url}/__emulator/stats")  # hooks are not recorded

    (entry,) = (await http.get(f"{emulator.url}/__emulator/wire")).json()["requests"]

    assert entry["method"] == "POST"
    assert entry["target"] == "/api/now/table/incident?sysparm_fields=number"
    assert entry["body"] == '{"short_description": "wire"}'
    headers = dict(entry["headers"])
    assert headers["x-tag"] == "a"
    assert headers["content-type"] == "application/json"
    assert headers["authorization"] == "Basic"  # the scheme only, never the credential
    await http.delete(f"{emulator.url}/__emulator/wire")
    assert (await http.get(f"{emulator.url}/__emulator/wire")).json() == {"requests": []}
