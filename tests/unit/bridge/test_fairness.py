"""Per-app request bounds (``adapter.bridge.fairness.RequestGate``)."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from adapter.bridge.fairness import RequestGate, TooManyRequestsError, delivery_status
from adapter.bridge.messages import DeliveryCounts, DeliveryStatus
from adapter.openfin import ChannelProvider, ClientIdentity
from adapter.openfin.delivery import DeliveryCounts as Counts
from adapter.settings import AdapterSettings
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


def test_a_gate_built_without_bounds_has_the_run_settings_defaults() -> None:
    # ActionRouter falls back to RequestGate() when it is given no gate: the same bounds as a default `run`.
    gate = RequestGate()
    fields = AdapterSettings.model_fields
    assert gate.in_flight == fields["app_requests_in_flight"].default
    assert gate.backlog == fields["app_request_backlog"].default


async def test_a_turn_handed_to_a_waiting_request_still_counts_against_the_app() -> None:
    gate = RequestGate(in_flight=1, backlog=1)
    release = {name: asyncio.Event() for name in ("first", "second", "third")}
    started = {name: asyncio.Event() for name in release}
    running: set[str] = set()
    most = 0

    async def request(name: str) -> None:
        nonlocal most
        async with gate.turn("app"):
            running.add(name)
            most = max(most, len(running))
            started[name].set()
            await release[name].wait()
            running.discard(name)

    first = asyncio.create_task(request("first"))
    await started["first"].wait()
    second = asyncio.create_task(request("second"))
    while gate.admitted("app") < 2:
        await asyncio.sleep(0)
    release["first"].set()
    await started["second"].wait()
    assert gate.admitted("app") == 1
    # The second request holds the app's only turn: a third must wait for it, not run beside it.
    third = asyncio.create_task(request("third"))
    while gate.admitted("app") < 2:
        await asyncio.sleep(0)
    assert not started["third"].is_set()
    release["second"].set()
    await started["third"].wait()
    release["third"].set()
    await asyncio.gather(first, second, third)
    assert most == 1
    assert gate.admitted("app") == 0


async def test_the_gate_forgets_an_app_once_its_last_request_ends() -> None:
    # Apps come and go all day: the gate's memory is bounded by the apps with a request open, not by history.
    gate = RequestGate(in_flight=1, backlog=0)
    for number in range(50):
        async with gate.turn(f"app-{number}"):
            assert len(gate._apps) == 1
    assert gate._apps == {}


class _Provider:
    """What delivery_status reads of the channel provider: per-client counts, totals, the backlog."""

    event_backlog = 64

    def __init__(self, clients: list[tuple[ClientIdentity, int, Counts]], totals: Counts) -> None:
        self._clients = clients
        self._totals = totals

    def delivery_counts(self) -> list[tuple[ClientIdentity, int, Counts]]:
        return self._clients

    def delivery_totals(self) -> Counts:
        return self._totals


def _client(uuid: str, name: str, endpoint: str) -> ClientIdentity:
    return ClientIdentity(uuid=uuid, name=name, endpoint_id=endpoint)


def test_delivery_status_sums_the_callers_connections_and_names_no_other_app() -> None:
    caller = _client("blotter", "main", "e1")
    provider = _Provider(
        [
            (caller, 2, Counts(delivered=5, merged=1, dropped=0, failed=1)),
            (_client("blotter", "main", "e2"), 3, Counts(delivered=7, merged=2, dropped=4, failed=0)),
            (
                _client("blotter", "other-view", "e3"),
                11,
                Counts(delivered=100, merged=100, dropped=100, failed=100),
            ),
            (_client("crm", "crm", "e4"), 13, Counts(delivered=1000, merged=1000, dropped=1000, failed=1000)),
        ],
        totals=Counts(delivered=9000, merged=9001, dropped=9002, failed=9003),
    )

    status = DeliveryStatus.model_validate(delivery_status(cast(ChannelProvider, provider), caller))

    assert status.backlog == 64
    assert status.app == DeliveryCounts(waiting=5, delivered=12, merged=3, dropped=4, failed=1)
    assert status.total == DeliveryCounts(waiting=29, delivered=9000, merged=9001, dropped=9002, failed=9003)


async def test_a_request_cancelled_while_waiting_or_running_gives_its_place_back() -> None:
    gate = RequestGate(in_flight=1, backlog=1)
    release = asyncio.Event()

    async def request() -> None:
        async with gate.turn("app"):
            await release.wait()

    running = asyncio.create_task(request())
    await eventually(lambda: gate.admitted("app") == 1, "one request running")
    waiting = asyncio.create_task(request())
    await eventually(lambda: gate.admitted("app") == 2, "one request waiting for its turn")
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert gate.admitted("app") == 1
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert gate.admitted("app") == 0
    # Positive control: the app's full quota is free again.
    async with gate.turn("app"):
        assert gate.admitted("app") == 1
