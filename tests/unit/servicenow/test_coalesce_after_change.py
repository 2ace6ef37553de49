"""ReadCoalescer after a change: the reads the news of a change sets off share one answer fetched after it.

Time is the test's own clock (``Clock``), so a window's end is a fact of the test, never a matter of timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from adapter.servicenow.coalesce import ReadCoalescer

R = ("incident", "a" * 32)
OTHER = ("incident", "b" * 32)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Instance:
    """Answers each fetch with the record's version at the moment the fetch is made, numbered in order."""

    def __init__(self) -> None:
        self.version = 0
        self.fetches = 0
        self.failing: Exception | None = None
        self.gate: asyncio.Event | None = None

    def fetch(self) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            self.fetches += 1
            seen = self.version  # what the instance holds when the read reaches it
            if self.gate is not None:
                await self.gate.wait()
            if self.failing is not None:
                raise self.failing
            return f"v{seen}"

        return run


def coalescer(clock: Clock, **options: int) -> ReadCoalescer[str]:
    return ReadCoalescer(window=1.0, clock=clock, **options)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_reads_spread_over_the_window_share_one_answer_fetched_after_the_announcement() -> None:
    clock = Clock()
    reads = coalescer(clock)
    instance = Instance()
    instance.version = 1
    reads.announce(R)
    answers = []
    for step in range(100):  # one at a time, none overlapping: in-flight sharing alone would fetch 100 times
        clock.now = step * 0.009
        answers.append(await reads.read("GET R", instance.fetch(), scope=R))
    assert answers == ["v1"] * 100
    assert instance.fetches == 1
    assert (reads.started, reads.reused) == (1, 99)


async def test_without_an_announcement_reads_that_do_not_overlap_each_fetch() -> None:
    # Positive control for the test above: the window, not some other cache, is what shares.
    reads = coalescer(Clock())
    instance = Instance()
    assert [await reads.read("GET R", instance.fetch(), scope=R) for _ in range(3)] == ["v0"] * 3
    assert instance.fetches == 3


async def test_a_read_in_flight_from_before_the_announcement_is_never_joined() -> None:
    reads = coalescer(Clock())
    instance = Instance()
    instance.gate = asyncio.Event()
    before = asyncio.create_task(reads.read("GET R", instance.fetch(), scope=R))
    await _settle()
    instance.version = 1  # the change happens, is detected, and announced while that read is in flight
    reads.announce(R)
    told = asyncio.create_task(reads.read("GET R", instance.fetch(), scope=R))
    told_too = asyncio.create_task(reads.read("GET R", instance.fetch(), scope=R))
    await _settle()
    instance.gate.set()
    assert (await before, await told, await told_too) == ("v0", "v1", "v1")
    assert instance.fetches == 2


async def test_a_read_of_another_scope_in_flight_from_before_the_announcement_is_not_joined() -> None:
    # The announcement moves the in-flight epoch too: once the window is over, no read of the record joins
    # one that started before the change was announced.
    clock = Clock()
    reads = coalescer(clock)
    instance = Instance()
    instance.gate = asyncio.Event()
    before = asyncio.create_task(reads.read("GET R?fields", instance.fetch(), scope=None))
    await _settle()
    instance.version = 1
    reads.announce(R)
    after = asyncio.create_task(reads.read("GET R?fields", instance.fetch(), scope=None))
    await _settle()
    instance.gate.set()
    assert (await before, await after) == ("v0", "v1")


async def test_a_later_announcement_opens_a_new_window_with_a_newer_answer() -> None:
    clock = Clock()
    reads = coalescer(clock)
    instance = Instance()
    instance.version = 1
    reads.announce(R)
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v1"
    clock.now = 0.2
    instance.version = 2
    reads.announce(R)
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v2"
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v2"
    assert instance.fetches == 2


async def test_a_write_closes_every_window() -> None:
    clock = Clock()
    reads = coalescer(clock)
    instance = Instance()
    reads.announce(R)
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v0"
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v0"  # positive control: shared
    async with reads.write():
        instance.version = 1
        assert await reads.read("GET R", instance.fetch(), scope=R) == "v1"
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v1"
    assert instance.fetches == 3
    assert reads.windows == 0


async def test_a_read_started_during_a_write_is_not_kept_for_reads_after_it() -> None:
    reads = coalescer(Clock())
    instance = Instance()
    reads.announce(R)
    async with reads.write():
        reads.announce(R)  # the news of another change while our write is in flight
        instance.version = 1
        assert await reads.read("GET R", instance.fetch(), scope=R) == "v1"
        instance.version = 2
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v2"


async def test_only_reads_of_the_announced_scope_and_the_same_key_share() -> None:
    reads = coalescer(Clock())
    instance = Instance()
    reads.announce(R)
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v0"
    instance.version = 1
    assert await reads.read("GET R accept=xml", instance.fetch(), scope=R) == "v1"  # other headers
    assert await reads.read("GET OTHER", instance.fetch(), scope=OTHER) == "v1"  # other record
    assert await reads.read("GET R", instance.fetch(), scope=None) == "v1"  # not marked as that record
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v0"  # positive control
    assert instance.fetches == 4


async def test_two_coalescers_never_share_a_window() -> None:
    # A coalescer is one connection's (one user on one instance).
    first, second = coalescer(Clock()), coalescer(Clock())
    instance = Instance()
    first.announce(R)
    second.announce(R)
    assert await first.read("GET R", instance.fetch(), scope=R) == "v0"
    instance.version = 1
    assert await second.read("GET R", instance.fetch(), scope=R) == "v1"


async def test_the_window_ends() -> None:
    clock = Clock()
    reads = coalescer(clock)
    instance = Instance()
    reads.announce(R)
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v0"
    clock.now = 0.99
    instance.version = 1
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v0"  # positive control: still open
    clock.now = 1.0
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v1"
    assert reads.windows == 0


async def test_an_error_reaches_every_waiter_and_is_not_kept() -> None:
    reads = coalescer(Clock())
    instance = Instance()
    instance.gate = asyncio.Event()
    instance.failing = RuntimeError("instance said no")
    reads.announce(R)
    waiters = [asyncio.create_task(reads.read("GET R", instance.fetch(), scope=R)) for _ in range(3)]
    await _settle()
    instance.gate.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert [str(outcome) for outcome in outcomes] == ["instance said no"] * 3
    assert instance.fetches == 1
    instance.failing = None
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v0"
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v0"
    assert instance.fetches == 2


async def test_one_callers_cancellation_spares_the_others_and_the_last_one_out_cancels() -> None:
    reads = coalescer(Clock())
    instance = Instance()
    instance.gate = asyncio.Event()
    reads.announce(R)
    leaving = asyncio.create_task(reads.read("GET R", instance.fetch(), scope=R))
    staying = asyncio.create_task(reads.read("GET R", instance.fetch(), scope=R))
    await _settle()
    leaving.cancel()
    await _settle()
    instance.gate.set()
    assert await staying == "v0"
    assert leaving.cancelled()
    assert instance.fetches == 1
    # Every waiter leaves: the read is cancelled and not kept; the next read of the window fetches anew.
    reads.announce(R)
    instance.gate.clear()
    alone = asyncio.create_task(reads.read("GET R", instance.fetch(), scope=R))
    await _settle()
    alone.cancel()
    await _settle()
    instance.gate.set()
    instance.version = 1
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v1"
    assert instance.fetches == 3


async def test_answers_per_window_are_bounded() -> None:
    reads = coalescer(Clock(), max_answers=2)
    instance = Instance()
    reads.announce(R)
    for key in ("a", "b", "c"):
        await reads.read(key, instance.fetch(), scope=R)
    assert instance.fetches == 3
    assert await reads.read("a", instance.fetch(), scope=R) == "v0"
    assert instance.fetches == 3  # kept
    assert await reads.read("c", instance.fetch(), scope=R) == "v0"
    assert instance.fetches == 4  # over the bound: not kept, fetched again


async def test_open_windows_are_bounded_oldest_first() -> None:
    reads = coalescer(Clock(), max_windows=2)
    instance = Instance()
    scopes = [("incident", str(index) * 32) for index in range(3)]
    for scope in scopes:
        reads.announce(scope)
        await reads.read(scope, instance.fetch(), scope=scope)
    assert reads.windows == 2
    fetched = instance.fetches
    await reads.read(scopes[2], instance.fetch(), scope=scopes[2])
    assert instance.fetches == fetched
    await reads.read(scopes[0], instance.fetch(), scope=scopes[0])
    assert instance.fetches == fetched + 1


async def test_answers_are_let_go_when_the_window_ends_without_further_reads() -> None:
    reads: ReadCoalescer[str] = ReadCoalescer(window=0.0)
    reads.announce(R)
    assert len(reads._windows) == 1  # positive control; ``windows`` would close it lazily, hiding the timer
    # The window's timer is due at once; the loop runs it on its next turn, after this task's wake-up.
    for _ in range(2):
        await asyncio.sleep(0)
    assert len(reads._windows) == 0


async def test_reset_closes_every_window() -> None:
    reads = coalescer(Clock())
    instance = Instance()
    reads.announce(R)
    await reads.read("GET R", instance.fetch(), scope=R)
    reads.reset()
    instance.version = 1
    assert await reads.read("GET R", instance.fetch(), scope=R) == "v1"
