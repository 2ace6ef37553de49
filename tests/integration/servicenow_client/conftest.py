"""Fixtures: the ServiceNow emulator on a real socket and connection managers pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from adapter.servicenow.authorizers import HttpAuthorizer
from adapter.servicenow.authorizers.base import Authorizer
from adapter.servicenow.connection import ConnectionOptions
from adapter.servicenow.manager import ConnectionManager
from adapter.servicenow.retry import RetryPolicy
from tests.support.servicenow_emulator import ServiceNowEmulator, servicenow_emulator

CLIENT_ID = "openfin-demo"
CASES = "/api/now/table/sn_customerservice_case"
FAST_RETRIES = RetryPolicy(base_delay=0.01, max_delay=0.05, max_retry_after=5)


class Clock:
    """The adapter's clock, moved by tests together with the emulator's."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def emulator() -> AsyncIterator[ServiceNowEmulator]:
    async with servicenow_emulator(auto_login="beth.anglin") as emu:
        yield emu


@pytest.fixture
def clock() -> Clock:
    return Clock()


ManagerFactory = Callable[..., ConnectionManager]


@pytest.fixture
async def make_manager(clock: Clock) -> AsyncIterator[ManagerFactory]:
    made: list[ConnectionManager] = []

    def make(
        authorizer: Authorizer | None = None, *, options: ConnectionOptions | None = None, **kwargs: object
    ) -> ConnectionManager:
        manager = ConnectionManager(
            authorizer or HttpAuthorizer(),
            options=options or ConnectionOptions(retry=FAST_RETRIES),
            clock=clock,
            **kwargs,  # type: ignore[arg-type]
        )
        made.append(manager)
        return manager

    yield make
    for manager in made:
        await manager.aclose(revoke=False)
