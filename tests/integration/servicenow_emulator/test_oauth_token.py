"""``/oauth_token.do`` and ``/oauth_revoke_token.do``: grants, lifetimes on the emulator's clock, revocation,
and failures shaped as an instance shapes them."""

from __future__ import annotations

import re

import httpx
import pytest

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
    refresh_grant,
    tokens_by_code,
)
from tests.support.servicenow_emulator import ServiceNowEmulator

OPAQUE = re.compile(r"[A-Za-z0-9_-]{80,100}")


async def fresh_code(http: httpx.AsyncClient, url: str) -> tuple[str, Pkce]:
    pkce = Pkce.new()
    response = await authorize(http, url, pkce)
    return query_of(response.headers["location"])["code"], pkce


async def user_info(http: httpx.AsyncClient, url: str, token: str | int) -> httpx.Response:
    return await http.get(f"{url}{SCRIPTED_API}/user_info", headers=bearer(token))


async def test_code_exchange_returns_the_instance_token_response(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    code, pkce = await fresh_code(http, auto_emulator.url)
    response = await post_form(
        http,
        f"{auto_emulator.url}/oauth_token.do",
        code_exchange_body(auto_emulator.url, code, pkce.verifier),
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "scope", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "useraccount"
    assert body["expires_in"] == 1799
    assert OPAQUE.fullmatch(body["access_token"])
    assert OPAQUE.fullmatch(body["refresh_token"])
    assert OPAQUE.fullmatch(code)


async def test_wrong_code_verifier_is_refused(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    code, _ = await fresh_code(http, auto_emulator.url)
    response = await post_form(
        http,
        f"{auto_emulator.url}/oauth_token.do",
        code_exchange_body(auto_emulator.url, code, Pkce.new().verifier),
    )

    assert response.status_code == 401
    assert response.json() == OAUTH_FAILURE
    assert await auto_emulator.tokens() == {"access": [], "refresh": []}


async def test_missing_code_verifier_is_refused(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    code, _ = await fresh_code(http, auto_emulator.url)
    body = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "code": code,
        "redirect_uri": f"{auto_emulator.url}/oauth_redirect.do",
    }
    response = await post_form(http, f"{auto_emulator.url}/oauth_token.do", body)

    assert response.status_code == 401
    assert response.json() == OAUTH_FAILURE


async def test_a_code_works_only_once(auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient) -> None:
    code, pkce = await fresh_code(http, auto_emulator.url)
    body = code_exchange_body(auto_emulator.url, code, pkce.verifier)

    first = await post_form(http, f"{auto_emulator.url}/oauth_token.do", body)
    second = await post_form(http, f"{auto_emulator.url}/oauth_token.do", body)

    assert first.status_code == 200
    assert second.status_code == 401
    assert second.json() == OAUTH_FAILURE


async def test_a_code_expires_after_a_minute(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    code, pkce = await fresh_code(http, auto_emulator.url)
    await auto_emulator.advance_clock(61)

    response = await post_form(
        http,
        f"{auto_emulator.url}/oauth_token.do",
        code_exchange_body(auto_emulator.url, code, pkce.verifier),
    )

    assert response.status_code == 401


async def test_code_exchange_with_another_redirect_uri_is_refused(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    code, pkce = await fresh_code(http, auto_emulator.url)
    body = code_exchange_body(auto_emulator.url, code, pkce.verifier).replace(
        "/oauth_redirect.do", "/elsewhere"
    )

    response = await post_form(http, f"{auto_emulator.url}/oauth_token.do", body)

    assert response.status_code == 401


async def test_a_json_body_is_refused(auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient) -> None:
    code, pkce = await fresh_code(http, auto_emulator.url)
    response = await http.post(
        f"{auto_emulator.url}/oauth_token.do",
        json={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "code": code,
            "code_verifier": pkce.verifier,
        },
    )

    assert response.status_code == 401
    assert response.json() == OAUTH_FAILURE


async def test_refresh_issues_a_new_access_token_and_echoes_the_refresh_token(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)
    response = await refresh_grant(http, auto_emulator.url, tokens["refresh_token"])

    assert response.status_code == 200
    refreshed = response.json()
    assert refreshed["refresh_token"] == tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["expires_in"] == 1799
    assert (await user_info(http, auto_emulator.url, refreshed["access_token"])).status_code == 200


async def test_an_access_token_expires_on_the_emulator_clock(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)
    assert (await user_info(http, auto_emulator.url, tokens["access_token"])).status_code == 200

    await auto_emulator.advance_clock(1800)
    expired = await user_info(http, auto_emulator.url, tokens["access_token"])

    assert expired.status_code == 401
    assert expired.json() == NOT_AUTHENTICATED
    refreshed = await refresh_grant(http, auto_emulator.url, tokens["refresh_token"])
    assert (await user_info(http, auto_emulator.url, refreshed.json()["access_token"])).status_code == 200


async def test_an_expired_refresh_token_is_refused(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)
    await auto_emulator.advance_clock(8_640_000)

    response = await refresh_grant(http, auto_emulator.url, tokens["refresh_token"])

    assert response.status_code == 401
    assert response.json() == OAUTH_FAILURE


async def test_password_grant_issues_tokens_for_a_seeded_user(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    body = {"grant_type": "password", "client_id": CLIENT_ID, "username": "admin", "password": "admin"}
    response = await post_form(http, f"{auto_emulator.url}/oauth_token.do", body)

    assert response.status_code == 200
    info = await user_info(http, auto_emulator.url, response.json()["access_token"])
    assert info.json()["result"]["user_name"] == "admin"


async def test_password_grant_returns_the_live_token_again(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    body = {"grant_type": "password", "client_id": CLIENT_ID, "username": "admin", "password": "admin"}
    first = (await post_form(http, f"{auto_emulator.url}/oauth_token.do", body)).json()
    await auto_emulator.advance_clock(600)
    second = (await post_form(http, f"{auto_emulator.url}/oauth_token.do", body)).json()

    assert second["access_token"] == first["access_token"]
    assert second["refresh_token"] == first["refresh_token"]
    assert second["expires_in"] == 1799


async def test_password_grant_with_a_wrong_password_is_refused(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    body = {"grant_type": "password", "client_id": CLIENT_ID, "username": "admin", "password": "nope"}
    response = await post_form(http, f"{auto_emulator.url}/oauth_token.do", body)

    assert response.status_code == 401
    assert response.json() == OAUTH_FAILURE


@pytest.mark.parametrize("grant_type", ["client_credentials", "implicit", ""])
async def test_unsupported_grant_types_are_refused(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient, grant_type: str
) -> None:
    response = await post_form(
        http, f"{auto_emulator.url}/oauth_token.do", {"grant_type": grant_type, "client_id": CLIENT_ID}
    )

    assert response.status_code == 401
    assert response.json() == OAUTH_FAILURE


async def test_revoking_an_access_token_stops_it_but_not_the_refresh_token(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)

    revoked = await http.post(
        f"{auto_emulator.url}/oauth_revoke_token.do", params={"token": tokens["access_token"]}
    )

    assert revoked.status_code == 200
    assert (await user_info(http, auto_emulator.url, tokens["access_token"])).json() == NOT_AUTHENTICATED
    assert await auto_emulator.tokens() == {"access": [], "refresh": [tokens["refresh_token"]]}


async def test_revoking_a_refresh_token_also_kills_its_access_tokens(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    tokens = await tokens_by_code(http, auto_emulator.url)

    revoked = await http.post(
        f"{auto_emulator.url}/oauth_revoke_token.do", data={"token": str(tokens["refresh_token"])}
    )

    assert revoked.status_code == 200
    assert (await user_info(http, auto_emulator.url, tokens["access_token"])).status_code == 401
    refresh = await refresh_grant(http, auto_emulator.url, tokens["refresh_token"])
    assert refresh.status_code == 401
    assert await auto_emulator.tokens() == {"access": [], "refresh": []}


async def test_revoking_an_unknown_token_answers_the_same(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{auto_emulator.url}/oauth_revoke_token.do", params={"token": "not-a-token"})

    assert response.status_code == 200


async def test_tokens_hook_lists_live_tokens_oldest_first(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    first = await tokens_by_code(http, auto_emulator.url)
    second = await tokens_by_code(http, auto_emulator.url)

    assert await auto_emulator.tokens() == {
        "access": [first["access_token"], second["access_token"]],
        "refresh": [first["refresh_token"], second["refresh_token"]],
    }
