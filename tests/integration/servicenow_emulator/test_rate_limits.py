"""Rate-limit rules: requests per user per hour; 429 with ``Retry-After`` and ``X-RateLimit-*`` headers."""

from __future__ import annotations

import httpx

from tests.integration.servicenow_emulator.flows import SCRIPTED_API
from tests.support.servicenow_emulator import ServiceNowEmulator, servicenow_emulator

USER_INFO = f"{SCRIPTED_API}/user_info"


async def test_requests_over_the_hourly_limit_get_429_with_rate_limit_headers(
    http: httpx.AsyncClient,
) -> None:
    async with servicenow_emulator(rate_limit_per_hour=3) as emu:
        allowed = [await http.get(f"{emu.url}{USER_INFO}", auth=("admin", "admin")) for _ in range(3)]
        refused = await http.get(f"{emu.url}{USER_INFO}", auth=("admin", "admin"))

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert allowed[0].headers["x-ratelimit-limit"] == "3"
    assert refused.status_code == 429
    assert refused.json() == {
        "error": {
            "message": "Rate limit exceeded",
            "detail": "Rate limit of 3 requests per hour for OpenFin Integration exceeded",
        },
        "status": "failure",
    }
    reset = int(refused.headers["x-ratelimit-reset"])
    assert reset % 3600 == 0
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert len(refused.headers["x-ratelimit-rule"]) == 32


async def test_the_limit_counts_each_user_separately(http: httpx.AsyncClient) -> None:
    async with servicenow_emulator(rate_limit_per_hour=1) as emu:
        admin = [await http.get(f"{emu.url}{USER_INFO}", auth=("admin", "admin")) for _ in range(2)]
        beth = await http.get(f"{emu.url}{USER_INFO}", auth=("beth.anglin", "beth.anglin"))

    assert [r.status_code for r in admin] == [200, 429]
    assert beth.status_code == 200


async def test_the_next_hour_opens_a_new_window(http: httpx.AsyncClient) -> None:
    async with servicenow_emulator(rate_limit_per_hour=1) as emu:
        await http.get(f"{emu.url}{USER_INFO}", auth=("admin", "admin"))
        refused = await http.get(f"{emu.url}{USER_INFO}", auth=("admin", "admin"))
        await emu.advance_clock(int(refused.headers["retry-after"]))
        again = await http.get(f"{emu.url}{USER_INFO}", auth=("admin", "admin"))

    assert refused.status_code == 429
    assert again.status_code == 200


async def test_there_is_no_limit_by_default(emulator: ServiceNowEmulator, http: httpx.AsyncClient) -> None:
    responses = [await http.get(f"{emulator.url}{USER_INFO}", auth=("admin", "admin")) for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5
    assert "x-ratelimit-limit" not in responses[0].headers


async def test_the_hook_sets_and_removes_the_limit(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    await emulator.set_rate_limit(1)
    await http.get(f"{emulator.url}{USER_INFO}", auth=("admin", "admin"))
    limited = await http.get(f"{emulator.url}{USER_INFO}", auth=("admin", "admin"))
    await emulator.set_rate_limit(None)
    unlimited = await http.get(f"{emulator.url}{USER_INFO}", auth=("admin", "admin"))

    assert limited.status_code == 429
    assert unlimited.status_code == 200


async def test_unauthenticated_requests_are_not_counted(http: httpx.AsyncClient) -> None:
    async with servicenow_emulator(rate_limit_per_hour=1) as emu:
        refused = [await http.get(f"{emu.url}{USER_INFO}") for _ in range(3)]
        first = await http.get(f"{emu.url}{USER_INFO}", auth=("admin", "admin"))

    assert [r.status_code for r in refused] == [401, 401, 401]
    assert first.status_code == 200


async def test_table_api_refusals_name_the_table_api(http: httpx.AsyncClient) -> None:
    async with servicenow_emulator(rate_limit_per_hour=1) as emu:
        cases = f"{emu.url}/api/now/v2/table/sn_customerservice_case"
        allowed = await http.get(cases, params={"sysparm_limit": "1"}, auth=("admin", "admin"))
        refused = await http.get(cases, params={"sysparm_limit": "1"}, auth=("admin", "admin"))

    assert allowed.status_code == 200
    assert allowed.headers["x-ratelimit-limit"] == "1"
    assert refused.status_code == 429
    assert refused.json()["error"]["detail"] == "Rate limit of 1 requests per hour for Table API exceeded"
