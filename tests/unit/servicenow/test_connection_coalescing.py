"""Read coalescing as a connection applies it: which requests share one instance request, and which never do.

Every request here is held in flight by the fake instance (``hold``) until the test releases it, so that
"at the same time" is a fact of the test rather than a matter of timing.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable

import httpx
import pytest

from adapter.servicenow.connection import Connection, ConnectionOptions
from adapter.servicenow.errors import ApiRequestError
from adapter.servicenow.response import ApiResponse
from adapter.servicenow.retry import RetryPolicy
from tests.unit.servicenow.fakes import FakeInstance, signed_in

RECORD = "/api/now/table/incident/a1"
FAST = ConnectionOptions(retry=RetryPolicy(base_delay=0.001, max_delay=0.001))


def numbered() -> FakeInstance:
    """An instance whose every API answer carries its own number, so tests can tell answers apart."""
    counter = itertools.count(1)
    return FakeInstance(
        api=lambda request: httpx.Response(200, json={"result": {"answer": next(counter)}}),
        hold=asyncio.Event(),
    )


async def _settle() -> None:
    # Every task started so far reaches the fake instance and waits there (on events the test holds).
    for _ in range(20):
        await asyncio.sleep(0)


async def in_flight(
    instance: FakeInstance, *calls: Awaitable[ApiResponse]
) -> list[asyncio.Task[ApiResponse]]:
    tasks = [asyncio.ensure_future(call) for call in calls]
    await _settle()
    return tasks


def answers(tasks: list[asyncio.Task[ApiResponse]]) -> list[object]:
    return [task.result().data["answer"] for task in tasks]


async def release(instance: FakeInstance, tasks: list[asyncio.Task[ApiResponse]]) -> list[object]:
    assert instance.hold is not None
    instance.hold.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return answers(tasks)


async def test_identical_gets_in_flight_go_to_the_instance_once_and_everyone_gets_the_answer() -> None:
    instance = numbered()
    connection = await signed_in(instance)
    started = connection.coalescer.started  # the sign-in's current-user read
    tasks = await in_flight(instance, *(connection.execute(RECORD) for _ in range(100)))
    assert await release(instance, tasks) == [1] * 100
    assert len(instance.api_requests()) == 1
    assert (connection.coalescer.started - started, connection.coalescer.joined) == (1, 99)


async def test_reads_that_do_not_overlap_each_go_to_the_instance() -> None:
    instance = FakeInstance(api=lambda request: httpx.Response(200, json={"result": {}}))
    connection = await signed_in(instance)
    await connection.execute(RECORD)
    await connection.execute(RECORD)
    assert len(instance.api_requests()) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"endpoint": RECORD}, {"endpoint": "/api/now/table/incident/b2"}),
        ({"endpoint": RECORD}, {"endpoint": RECORD + "?sysparm_fields=number"}),
        ({"endpoint": RECORD}, {"endpoint": RECORD, "headers": {"Accept": "application/xml"}}),
        ({"endpoint": RECORD, "headers": {"X-A": "1"}}, {"endpoint": RECORD, "headers": {"X-A": "2"}}),
        ({"endpoint": RECORD}, {"endpoint": RECORD, "suppress_response_body": True}),
    ],
    ids=["other-record", "other-query", "other-accept", "other-header-value", "suppress-body"],
)
async def test_gets_that_differ_in_url_headers_or_body_suppression_are_never_shared(
    first: dict[str, object], second: dict[str, object]
) -> None:
    instance = numbered()
    connection = await signed_in(instance)
    tasks = await in_flight(
        instance,
        connection.execute(**first),  # type: ignore[arg-type]
        connection.execute(**second),  # type: ignore[arg-type]
    )
    instance.hold.set()  # type: ignore[union-attr]
    await asyncio.gather(*tasks)
    assert len(instance.api_requests()) == 2
    assert connection.coalescer.joined == 0


async def test_header_names_differing_only_in_case_are_the_same_read() -> None:
    instance = numbered()
    connection = await signed_in(instance)
    tasks = await in_flight(
        instance,
        connection.execute(RECORD, headers={"X-Trace": "1"}),
        connection.execute(RECORD, headers={"x-trace": "1"}),
    )
    assert await release(instance, tasks) == [1, 1]
    assert len(instance.api_requests()) == 1


async def test_reads_on_two_connections_are_never_shared() -> None:
    instance = numbered()
    first = await signed_in(instance)
    second = await signed_in(instance)
    tasks = await in_flight(instance, first.execute(RECORD), second.execute(RECORD))
    assert sorted(await release(instance, tasks)) == [1, 2]  # type: ignore[type-var]
    assert len(instance.api_requests()) == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_other_methods_are_never_shared(method: str) -> None:
    instance = numbered()
    connection = await signed_in(instance)
    data = None if method == "DELETE" else {"state": "2"}
    tasks = await in_flight(instance, *(connection.execute(RECORD, method, data) for _ in range(3)))
    instance.hold.set()  # type: ignore[union-attr]
    await asyncio.gather(*tasks)
    assert [r.method for r in instance.api_requests()] == [method] * 3
    assert connection.coalescer.joined == 0


async def test_a_read_started_after_a_write_never_gets_the_answer_from_before_it() -> None:
    instance = numbered()
    connection = await signed_in(instance)
    (before,) = await in_flight(instance, connection.execute(RECORD))
    (write,) = await in_flight(instance, connection.execute(RECORD, "PATCH", {"state": "2"}))
    (during,) = await in_flight(instance, connection.execute(RECORD))
    tasks = [before, write, during]
    assert await release(instance, tasks) == [1, 2, 3]
    assert [r.method for r in instance.api_requests()] == ["GET", "PATCH", "GET"]


async def test_a_read_started_after_a_write_ended_is_not_shared_with_one_from_before_it() -> None:
    instance = numbered()
    hold = instance.hold
    assert hold is not None
    connection = await signed_in(instance)
    (before,) = await in_flight(instance, connection.execute(RECORD))
    # The write runs without the hold (its own instance would answer at once): model it by swapping the
    # event for one already set, then restoring the hold for the read that follows.
    instance.hold = asyncio.Event()
    instance.hold.set()
    await connection.execute(RECORD, "PATCH", {"state": "2"})
    instance.hold = hold
    (after,) = await in_flight(instance, connection.execute(RECORD))
    assert await release(instance, [before, after]) == [1, 3]
    assert [r.method for r in instance.api_requests()] == ["GET", "PATCH", "GET"]


async def test_one_callers_cancellation_does_not_cancel_the_others() -> None:
    instance = numbered()
    connection = await signed_in(instance)
    tasks = await in_flight(instance, *(connection.execute(RECORD) for _ in range(3)))
    tasks[0].cancel()
    await _settle()
    assert instance.cancelled == []
    instance.hold.set()  # type: ignore[union-attr]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert [r.data for r in results[1:]] == [{"answer": 1}, {"answer": 1}]  # type: ignore[union-attr]
    assert len(instance.api_requests()) == 1


async def test_when_every_caller_is_cancelled_the_request_is_cancelled() -> None:
    instance = numbered()
    connection = await signed_in(instance)
    tasks = await in_flight(instance, *(connection.execute(RECORD) for _ in range(3)))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await _settle()
    assert [r.method for r in instance.cancelled] == ["GET"]
    assert connection.coalescer.in_flight == 0


async def test_an_error_reaches_every_waiter() -> None:
    instance = FakeInstance(
        api=lambda request: httpx.Response(404, json={"error": {"message": "No Record found"}}),
        hold=asyncio.Event(),
    )
    connection = await signed_in(instance)
    tasks = await in_flight(instance, *(connection.execute(RECORD) for _ in range(5)))
    instance.hold.set()  # type: ignore[union-attr]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ApiRequestError) and r.status == 404 for r in results)
    assert len({id(r) for r in results}) == 1  # the one answer the instance gave, not five
    assert len(instance.api_requests()) == 1


async def test_a_shared_read_is_retried_as_any_get_and_everyone_gets_the_retried_answer() -> None:
    statuses = iter([503, 200])

    def api(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, json={"result": {"answer": status}})

    instance = FakeInstance(api=api, hold=asyncio.Event())
    connection = await signed_in(instance, options=FAST)
    tasks = await in_flight(instance, *(connection.execute(RECORD) for _ in range(4)))
    assert await release(instance, tasks) == [200] * 4
    assert len(instance.api_requests()) == 2


async def test_a_read_joining_after_a_refresh_still_shares_and_the_refresh_happens_once() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer access-token-number-1":
            return httpx.Response(401)
        return httpx.Response(200, json={"result": {"answer": "fresh"}})

    instance = FakeInstance(api=api, hold=asyncio.Event())
    connection: Connection = await signed_in(instance)
    tasks = await in_flight(instance, *(connection.execute(RECORD) for _ in range(10)))
    assert await release(instance, tasks) == ["fresh"] * 10
    assert instance.issued == 2
    assert len(instance.api_requests()) == 2


ONE_RECORD = "/api/now/table/incident/" + "a" * 32


def counting() -> FakeInstance:
    """An instance that answers at once, each answer numbered."""
    counter = itertools.count(1)
    return FakeInstance(api=lambda request: httpx.Response(200, json={"result": {"answer": next(counter)}}))


async def test_after_record_changed_reads_of_that_record_one_after_another_share_one_answer() -> None:
    instance = counting()
    connection = await signed_in(instance)
    assert (await connection.execute(ONE_RECORD)).data == {"answer": 1}  # from before the change
    connection.record_changed("incident", "a" * 32)
    answers = [(await connection.execute(ONE_RECORD)).data for _ in range(5)]
    assert answers == [{"answer": 2}] * 5
    assert len(instance.api_requests()) == 2


@pytest.mark.parametrize(
    ("endpoint", "headers"),
    [
        ("/api/now/table/incident/" + "b" * 32, None),  # another record
        ("/api/now/table/problem/" + "a" * 32, None),  # the same sys_id in another table
        ("/api/now/table/incident?sysparm_query=sys_id=" + "a" * 32, None),  # a list read
        (ONE_RECORD, {"Accept": "application/xml"}),  # the record, but other headers: shared among those only
    ],
    ids=["other-record", "other-table", "list-read", "other-headers"],
)
async def test_after_record_changed_only_identical_reads_of_that_record_share(
    endpoint: str, headers: dict[str, str] | None
) -> None:
    instance = counting()
    connection = await signed_in(instance)
    connection.record_changed("incident", "a" * 32)
    await connection.execute(ONE_RECORD)
    await connection.execute(endpoint, headers=headers)
    assert len(instance.api_requests()) == 2
    await connection.execute(ONE_RECORD)  # positive control: the record's own read is still shared
    assert len(instance.api_requests()) == 2


async def test_after_record_changed_a_write_means_the_next_read_goes_to_the_instance() -> None:
    instance = counting()
    connection = await signed_in(instance)
    connection.record_changed("incident", "a" * 32)
    assert (await connection.execute(ONE_RECORD)).data == {"answer": 1}
    await connection.execute(ONE_RECORD, "PATCH", {"state": "2"})
    assert (await connection.execute(ONE_RECORD)).data == {"answer": 3}
    assert [r.method for r in instance.api_requests()] == ["GET", "PATCH", "GET"]


async def test_record_changed_on_one_connection_shares_nothing_on_another() -> None:
    instance = counting()
    first = await signed_in(instance)
    second = await signed_in(instance)
    first.record_changed("incident", "a" * 32)
    second.record_changed("incident", "a" * 32)
    await first.execute(ONE_RECORD)
    await second.execute(ONE_RECORD)
    assert len(instance.api_requests()) == 2


async def test_closing_the_connection_lets_go_of_the_shared_answers() -> None:
    instance = counting()
    connection = await signed_in(instance)
    connection.record_changed("incident", "a" * 32)
    await connection.execute(ONE_RECORD)
    assert connection.coalescer.windows == 1
    await connection.close(revoke=False)
    assert connection.coalescer.windows == 0
