"""The ``x_opfi_openfin/v1/integration`` scripted API, driven with the exact requests ``@openfin/servicenow``
1.0.1 sends: unencoded form bodies, no Authorization on the token endpoints."""

from __future__ import annotations

import httpx

from tests.integration.servicenow_emulator.flows import (
    CLIENT_ID,
    NOT_AUTHENTICATED,
    OAUTH_FAILURE,
    SCRIPTED_API,
    Pkce,
    authorize,
    bearer,
    code_exchange_body,
    post_form,
    query_of,
)
from tests.support.servicenow_emulator import ServiceNowEmulator


async def official_connect(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    """Authorize, then exchange the code at ``request_tokens`` exactly as the package's worker does."""
    pkce = Pkce.new()
    location = (await authorize(http, url, pkce)).headers["location"]
    code = query_of(location)["code"]
    response = await post_form(
        http, f"{url}{SCRIPTED_API}/request_tokens", code_exchange_body(url, code, pkce.verifier)
    )
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def test_request_tokens_exchanges_the_code_without_credentials_and_unwrapped(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await official_connect(http, auto_emulator.url)

    assert "result" not in tokens
    assert tokens["access_token"]
    assert tokens["refresh_token"]
    assert tokens["token_type"] == "Bearer"


async def test_user_info_returns_the_callers_sys_user_record_in_result(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await official_connect(http, auto_emulator.url)

    response = await http.get(
        f"{auto_emulator.url}{SCRIPTED_API}/user_info",
        headers={"Accept": "application/json", **bearer(tokens["access_token"])},
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    user = response.json()["result"]
    assert user["user_name"] == "beth.anglin"
    assert user["name"] == "Beth Anglin"
    assert len(user["sys_id"]) == 32
    assert "user_password" not in user
    assert all(isinstance(value, str) for value in user.values())


async def test_user_info_needs_a_bearer_token(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await http.get(
        f"{auto_emulator.url}{SCRIPTED_API}/user_info", headers={"Accept": "application/json"}
    )

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


async def test_refresh_at_request_tokens_after_expiry_gives_a_working_token(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await official_connect(http, auto_emulator.url)
    await auto_emulator.advance_clock(1800)
    expired = await http.get(
        f"{auto_emulator.url}{SCRIPTED_API}/user_info", headers=bearer(tokens["access_token"])
    )
    assert expired.status_code == 401

    refreshed = await post_form(
        http,
        f"{auto_emulator.url}{SCRIPTED_API}/request_tokens",
        f"grant_type=refresh_token&client_id={CLIENT_ID}&refresh_token={tokens['refresh_token']}",
    )

    assert refreshed.status_code == 200
    retried = await http.get(
        f"{auto_emulator.url}{SCRIPTED_API}/user_info", headers=bearer(refreshed.json()["access_token"])
    )
    assert retried.status_code == 200


async def test_failed_refresh_at_request_tokens_answers_401_with_the_oauth_error(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await post_form(
        http,
        f"{auto_emulator.url}{SCRIPTED_API}/request_tokens",
        f"grant_type=refresh_token&client_id={CLIENT_ID}&refresh_token=unknown",
    )

    assert response.status_code == 401
    assert response.json() == OAUTH_FAILURE


async def test_disconnect_revokes_access_then_refresh_without_credentials(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await official_connect(http, auto_emulator.url)

    revoke_access = await post_form(
        http,
        f"{auto_emulator.url}{SCRIPTED_API}/revoke_token",
        f"client_id={CLIENT_ID}&token={tokens['access_token']}&token_type_hint=access_token",
    )
    revoke_refresh = await post_form(
        http,
        f"{auto_emulator.url}{SCRIPTED_API}/revoke_token",
        f"client_id={CLIENT_ID}&token={tokens['refresh_token']}&token_type_hint=refresh_token",
    )

    assert revoke_access.status_code == 200
    assert revoke_refresh.status_code == 200
    assert await auto_emulator.tokens() == {"access": [], "refresh": []}
    after = await http.get(
        f"{auto_emulator.url}{SCRIPTED_API}/user_info", headers=bearer(tokens["access_token"])
    )
    assert after.status_code == 401


async def test_revoke_token_leaves_tokens_of_another_client_alone(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await official_connect(http, auto_emulator.url)

    response = await post_form(
        http,
        f"{auto_emulator.url}{SCRIPTED_API}/revoke_token",
        f"client_id=another-client&token={tokens['access_token']}&token_type_hint=access_token",
    )

    assert response.status_code == 200
    assert (await auto_emulator.tokens())["access"] == [tokens["access_token"]]
