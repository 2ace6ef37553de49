"""Token lifetime against the emulator's clock: refresh ahead of expiry, on a 401, once for many requests,
and the expired state when the instance refuses the refresh token."""

from __future__ import annotations

import asyncio

import pytest

from adapter.servicenow.connection import ConnectionState
from adapter.servicenow.errors import AuthTokenExpiredError, NotConnectedError
from tests.integration.servicenow_client.conftest import CASES, CLIENT_ID, Clock, ManagerFactory
from tests.support.servicenow_emulator import ServiceNowEmulator

ACCESS_LIFESPAN = 1800
REFRESH_LIFESPAN = 8_640_000


async def test_the_token_is_refreshed_ahead_of_expiry_without_a_401(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory, clock: Clock
) -> None:
    connection = (await make_manager().acquire("app-1", emulator.url, CLIENT_ID)).connection
    old = (await emulator.tokens())["access"]
    await emulator.reset_stats()
    # 30 s before the instance would expire it, inside the 60 s margin.
    await emulator.advance_clock(ACCESS_LIFESPAN - 30)
    clock.now += ACCESS_LIFESPAN - 30
    await connection.execute(f"{CASES}?sysparm_limit=1")
    stats = await emulator.stats()
    assert stats["POST /oauth_token.do"] == 1
    assert stats[f"GET {CASES}"] == 1
    assert (await emulator.tokens())["access"] != old


async def test_an_expired_token_is_refreshed_on_the_401_and_the_request_retried(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    manager = make_manager()
    connection = (await manager.acquire("app-1", emulator.url, CLIENT_ID)).connection
    states: list[ConnectionState] = []
    manager.add_listener(lambda _connection, state: states.append(state))
    await emulator.reset_stats()
    await emulator.advance_clock(ACCESS_LIFESPAN + 1)
    response = await connection.execute(f"{CASES}?sysparm_limit=1")
    assert response.status == 200
    stats = await emulator.stats()
    assert stats["POST /oauth_token.do"] == 1
    assert stats[f"GET {CASES}"] == 2
    assert states == [ConnectionState.REFRESHED]


async def test_one_refresh_serves_a_hundred_concurrent_requests(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    connection = (await make_manager().acquire("app-1", emulator.url, CLIENT_ID)).connection
    await emulator.reset_stats()
    await emulator.advance_clock(ACCESS_LIFESPAN + 1)
    responses = await asyncio.gather(
        *(connection.execute(f"{CASES}?sysparm_limit=1&sysparm_fields=number") for _ in range(100))
    )
    assert {response.status for response in responses} == {200}
    assert (await emulator.stats())["POST /oauth_token.do"] == 1


async def test_a_refused_refresh_is_auth_token_expired_and_observable(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    manager = make_manager()
    connection = (await manager.acquire("app-1", emulator.url, CLIENT_ID)).connection
    states: list[ConnectionState] = []
    manager.add_listener(lambda _connection, state: states.append(state))
    await emulator.advance_clock(REFRESH_LIFESPAN + 1)
    with pytest.raises(AuthTokenExpiredError, match=r"^Failed to refresh access token$"):
        await connection.execute(CASES)
    assert states == [ConnectionState.EXPIRED]
    assert manager.status()[0].state == "expired"
    with pytest.raises(AuthTokenExpiredError):
        await connection.execute(CASES)


async def test_an_expired_connection_is_replaced_by_a_new_login_keeping_its_apps(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory
) -> None:
    manager = make_manager()
    old = (await manager.acquire("app-1", emulator.url, CLIENT_ID)).connection
    await emulator.advance_clock(REFRESH_LIFESPAN + 1)
    with pytest.raises(AuthTokenExpiredError):
        await old.execute(CASES)
    renewed = await manager.acquire("app-2", emulator.url, CLIENT_ID)
    assert renewed.connection is not old
    assert renewed.apps == 2
    assert (await renewed.connection.execute(f"{CASES}?sysparm_limit=1")).status == 200
    with pytest.raises(NotConnectedError):
        await old.execute(CASES)
