"""Per-app request bounds (``adapter.bridge.fairness.RequestGate``)."""

from __future__ import annotations

import asyncio

import pytest

from adapter.bridge.fairness import RequestGate, TooManyRequestsError
from tests.support.waiting import eventually


async def test_an_app_runs_at_most_in_flight_requests_and_queues_the_backlog() -> None:
    gate = RequestGate(in_flight=2, backlog=1)
    release = asyncio.Event()
    running = 0
    most = 0

    async def request() -> None:
        nonlocal running, most
        async with gate.turn("greedy"):
            running += 1
            most = max(most, running)
            await release.wait()
            running -= 1

    tasks = [asyncio.create_task(request()) for _ in range(3)]
    await eventually(lambda: gate.admitted("greedy") == 3, "two running and one waiting")
    with pytest.raises(TooManyRequestsError, match="2 running and 1 waiting"):
        async with gate.turn("greedy"):
            pass
    release.set()
    await asyncio.gather(*tasks)
    assert most == 2
    assert gate.admitted("greedy") == 0


async def test_one_apps_full_quota_leaves_another_app_a_turn_at_once() -> None:
    gate = RequestGate(in_flight=1, backlog=0)
    release = asyncio.Event()

    async def hold() -> None:
        async with gate.turn("greedy"):
            await release.wait()

    holder = asyncio.create_task(hold())
    await eventually(lambda: gate.admitted("greedy") == 1, "the greedy app's one request running")
    with pytest.raises(TooManyRequestsError):
        async with gate.turn("greedy"):
            pass
    async with gate.turn("modest"):
        assert gate.admitted("modest") == 1
    release.set()
    await holder


def test_bounds_below_their_minimum_are_refused() -> None:
    with pytest.raises(ValueError, match="in_flight"):
        RequestGate(in_flight=0)
    with pytest.raises(ValueError, match="backlog"):
        RequestGate(backlog=-1)
