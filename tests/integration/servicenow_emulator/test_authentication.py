"""Authentication of ``/api/*``: HTTP Basic for seeded users, Bearer (header or ``access_token`` query) for
tokens the instance issued, and the 401 an instance answers otherwise."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.servicenow_emulator.flows import (
    NOT_AUTHENTICATED,
    SCRIPTED_API,
    bearer,
    tokens_by_code,
)
from tests.support.servicenow_emulator import ServiceNowEmulator


async def test_basic_auth_of_a_seeded_user_is_accepted(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{emulator.url}{SCRIPTED_API}/user_info", auth=("admin", "admin"))

    assert response.status_code == 200
    assert response.json()["result"]["user_name"] == "admin"
    assert response.headers["x-is-logged-in"] == "true"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YWRtaW46d3Jvbmc="},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Negotiate abc"},
    ],
    ids=["none", "wrong-password", "malformed-basic", "unknown-bearer", "other-scheme"],
)
async def test_missing_or_bad_credentials_get_the_instance_401(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await http.get(f"{emulator.url}{SCRIPTED_API}/user_info", headers=headers)

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.headers["www-authenticate"] == 'BASIC realm="Service-now"'


async def test_bearer_token_in_the_header_is_accepted(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)

    response = await http.get(
        f"{auto_emulator.url}{SCRIPTED_API}/user_info", headers=bearer(tokens["access_token"])
    )

    assert response.json()["result"]["user_name"] == "beth.anglin"


async def test_access_token_query_parameter_is_accepted(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)

    response = await http.get(
        f"{auto_emulator.url}{SCRIPTED_API}/user_info", params={"access_token": str(tokens["access_token"])}
    )

    assert response.json()["result"]["user_name"] == "beth.anglin"


async def test_a_refresh_token_is_not_an_access_token(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)

    response = await http.get(
        f"{auto_emulator.url}{SCRIPTED_API}/user_info", headers=bearer(tokens["refresh_token"])
    )

    assert response.status_code == 401


async def test_table_api_sees_the_bearer_caller(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)

    response = await http.get(
        f"{auto_emulator.url}/api/now/table/sys_user",
        params={"sysparm_query": "sys_id=javascript:gs.getUserID()", "sysparm_fields": "user_name"},
        headers=bearer(tokens["access_token"]),
    )

    assert response.status_code == 200
    assert response.json() == {"result": [{"user_name": "beth.anglin"}]}


async def test_table_api_refuses_requests_without_credentials(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{emulator.url}/api/now/v2/table/sn_customerservice_case")

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


async def test_unknown_api_path_is_answered_as_an_instance_does(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{emulator.url}/api/now/nothing/here", auth=("admin", "admin"))

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Requested URI does not represent any resource"


async def test_responses_carry_instance_headers(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{emulator.url}{SCRIPTED_API}/user_info", auth=("admin", "admin"))

    assert response.headers["server"] == "ServiceNow"
    assert len(response.headers["x-transaction-id"]) == 12
    assert "no-store" in response.headers["cache-control"]
