"""ReadCoalescer: identical reads in flight share one request, under the rules users rely on."""

from __future__ import annotations

import asyncio

import pytest

from adapter.servicenow.coalesce import ReadCoalescer


class Upstream:
    """A fake instance whose answers are released by the test; counts what was asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gates: list[asyncio.Future[str]] = []

    def fetch(self, key: str) -> asyncio.Future[str]:
        self.calls.append(key)
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.gates.append(gate)
        return gate


async def _settle() -> None:
    # Let every task started so far reach its first await (they all wait on futures we hold).
    for _ in range(5):
        await asyncio.sleep(0)


async def test_identical_reads_in_flight_go_upstream_once_and_all_get_the_answer() -> None:
    coalescer: ReadCoalescer[str] = ReadCoalescer()
    upstream = Upstream()
    readers = [asyncio.create_task(coalescer.read("GET /a", lambda: upstream.fetch("a"))) for _ in range(100)]
    await _settle()
    upstream.gates[0].set_result("answer")
    assert await asyncio.gather(*readers) == ["answer"] * 100
    assert upstream.calls == ["a"]
    assert (coalescer.started, coalescer.joined, coalescer.in_flight) == (1, 99, 0)


async def test_different_keys_are_never_shared() -> None:
    coalescer: ReadCoalescer[str] = ReadCoalescer()
    upstream = Upstream()
    first = asyncio.create_task(coalescer.read(("GET", "/a", ()), lambda: upstream.fetch("a")))
    other_headers = asyncio.create_task(
        coalescer.read(("GET", "/a", (("accept", "application/xml"),)), lambda: upstream.fetch("a-xml"))
    )
    await _settle()
    assert upstream.calls == ["a", "a-xml"]
    upstream.gates[0].set_result("json")
    upstream.gates[1].set_result("xml")
    assert (await first, await other_headers) == ("json", "xml")


async def test_a_read_after_the_first_finished_goes_upstream_again() -> None:
    coalescer: ReadCoalescer[str] = ReadCoalescer()
    upstream = Upstream()
    first = asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("1")))
    await _settle()
    upstream.gates[0].set_result("old")
    assert await first == "old"
    second = asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("2")))
    await _settle()
    upstream.gates[1].set_result("new")
    assert await second == "new"
    assert upstream.calls == ["1", "2"]


async def test_a_read_started_after_a_write_never_gets_the_answer_from_before_it() -> None:
    coalescer: ReadCoalescer[str] = ReadCoalescer()
    upstream = Upstream()
    before = asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("before")))
    await _settle()
    async with coalescer.write():
        during = asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("during")))
        await _settle()
    after = asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("after")))
    # Positive control: a second read after the write does share with the first one after it.
    after_too = asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("after-2")))
    await _settle()
    assert upstream.calls == ["before", "during", "after"]
    for gate, value in zip(upstream.gates, ("v0", "v1", "v2"), strict=True):
        gate.set_result(value)
    assert list(await asyncio.gather(before, during, after, after_too)) == ["v0", "v1", "v2", "v2"]


async def test_one_callers_cancellation_does_not_cancel_the_others() -> None:
    coalescer: ReadCoalescer[str] = ReadCoalescer()
    upstream = Upstream()
    leaving = asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("k")))
    staying = asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("k")))
    await _settle()
    leaving.cancel()
    await _settle()
    assert leaving.cancelled()
    assert not upstream.gates[0].cancelled()
    upstream.gates[0].set_result("answer")
    assert await staying == "answer"


async def test_the_read_is_cancelled_when_its_last_waiter_leaves() -> None:
    coalescer: ReadCoalescer[str] = ReadCoalescer()
    upstream = Upstream()
    only = asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("k")))
    await _settle()
    only.cancel()
    await _settle()
    assert upstream.gates[0].cancelled()
    assert coalescer.in_flight == 0


async def test_an_error_reaches_every_waiter() -> None:
    coalescer: ReadCoalescer[str] = ReadCoalescer()
    upstream = Upstream()
    readers = [asyncio.create_task(coalescer.read("k", lambda: upstream.fetch("k"))) for _ in range(3)]
    await _settle()
    upstream.gates[0].set_exception(RuntimeError("instance said no"))
    results = await asyncio.gather(*readers, return_exceptions=True)
    assert [str(r) for r in results] == ["instance said no"] * 3
    assert upstream.calls == ["k"]
    with pytest.raises(RuntimeError):
        await coalescer.read("k", lambda: _fail())


async def _fail() -> str:
    raise RuntimeError("again")
