"""Fixtures: two emulators shared by the whole session (one showing the login form, one with auto-login), each
reset before every test, and an HTTP client that never follows redirects.

Sharing saves starting a server per test; ``reset()`` gives each test fresh tokens, faults, counts and clock.
Tests that need their own configuration (rate limits, the command line) start their own emulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from tests.support.servicenow_emulator import (
    CLIENT_TLS,
    ServiceNowEmulator,
    attach,
    servicenow_emulator_in_thread,
)


@pytest.fixture(scope="session")
def form_login_instance() -> Iterator[tuple[str, Starlette]]:
    with servicenow_emulator_in_thread() as instance:
        yield instance


@pytest.fixture(scope="session")
def auto_login_instance() -> Iterator[tuple[str, Starlette]]:
    with servicenow_emulator_in_thread(auto_login="beth.anglin") as instance:
        yield instance


@pytest.fixture
async def emulator(form_login_instance: tuple[str, Starlette]) -> AsyncIterator[ServiceNowEmulator]:
    """An emulator whose ``/oauth_auth.do`` shows the login + consent form."""
    async with attach(*form_login_instance) as emu:
        await emu.reset()
        yield emu


@pytest.fixture
async def auto_emulator(auto_login_instance: tuple[str, Starlette]) -> AsyncIterator[ServiceNowEmulator]:
    """An emulator started with ``auto_login="beth.anglin"``."""
    async with attach(*auto_login_instance) as emu:
        await emu.reset()
        yield emu


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain client (redirects are inspected, not followed)."""
    async with httpx.AsyncClient(timeout=10.0, follow_redirects=False, verify=CLIENT_TLS) as client:
        yield client
