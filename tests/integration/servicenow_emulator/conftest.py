"""Fixtures: a fresh emulator on a real socket per test, and an HTTP client that never follows redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.servicenow_emulator import ServiceNowEmulator, servicenow_emulator


@pytest.fixture
async def emulator() -> AsyncIterator[ServiceNowEmulator]:
    """An emulator whose ``/oauth_auth.do`` shows the login + consent form."""
    async with servicenow_emulator() as emu:
        yield emu


@pytest.fixture
async def auto_emulator() -> AsyncIterator[ServiceNowEmulator]:
    """An emulator started with ``auto_login="beth.anglin"``."""
    async with servicenow_emulator(auto_login="beth.anglin") as emu:
        yield emu


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain client (redirects are inspected, not followed)."""
    async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as client:
        yield client
