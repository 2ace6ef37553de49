"""Fixtures: one emulator on a real socket per test module, and clients signed in as seeded users.

Tests that write create their own records and assert only on those, so a module can share one instance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.support.servicenow_emulator import ServiceNowEmulator, servicenow_emulator

CASES = "/api/now/table/sn_customerservice_case"
CASES_V2 = "/api/now/v2/table/sn_customerservice_case"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def emulator() -> AsyncIterator[ServiceNowEmulator]:
    """A seeded emulator shared by the tests of one module."""
    async with servicenow_emulator() as emu:
        yield emu


def _client(emulator: ServiceNowEmulator, user: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=emulator.url, auth=(user, user), timeout=10.0, headers={"Accept": "application/json"}
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def admin(emulator: ServiceNowEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as ``admin`` (role admin)."""
    async with _client(emulator, "admin") as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def beth(emulator: ServiceNowEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as the customer-service agent ``beth.anglin``."""
    async with _client(emulator, "beth.anglin") as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def abel(emulator: ServiceNowEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as ``abel.tuter``, who has ``itil`` but not the customer-service role."""
    async with _client(emulator, "abel.tuter") as client:
        yield client
