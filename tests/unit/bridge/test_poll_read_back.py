"""Reading back what a poll found: in chunks, falling back to the poll's rows, through the poll observer."""

from __future__ import annotations

import asyncio
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from structlog.testing import capture_logs

from adapter.bridge.broadcast import PollTarget, TablePolling, _read_back, poll_table
from adapter.servicenow.connection import Connection
from adapter.servicenow.errors import ApiRequestError
from adapter.servicenow.response import ApiResponse
from adapter.servicenow.watcher import Executor
from tests.unit.bridge.fakes import WAIT
from tests.unit.bridge.test_watched_tables import CASE, TaskInstance


class ReadBacks:
    """Answers each read-back with the records it names, and records the sys_ids of each request."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def execute(self, endpoint: str, *args: Any, **kwargs: Any) -> ApiResponse:
        query = parse_qs(urlsplit(endpoint).query)["sysparm_query"][0]
        sys_ids = query.removeprefix("sys_idIN").split(",")
        self.asked.append(sys_ids)
        return ApiResponse(status=200, data=[{"sys_id": sys_id} for sys_id in sys_ids])


async def test_a_read_back_of_many_records_goes_in_requests_of_at_most_100() -> None:
    # A URL of a few thousand sys_ids would pass neither the instance's limit nor a proxy's.
    connection = ReadBacks()
    rows = [{"sys_id": f"{number:032x}"} for number in range(250)]
    records = await _read_back(cast(Executor, connection), CASE, rows)
    assert [len(sys_ids) for sys_ids in connection.asked] == [100, 100, 50]
    assert [record["sys_id"] for record in records] == [row["sys_id"] for row in rows]


class FailingReadBacks(TaskInstance):
    """The task instance whose read-backs by sys_id are refused (a 403 on the table, say)."""

    async def execute(self, endpoint: str, *args: Any, **kwargs: Any) -> ApiResponse:
        if "sys_idIN" in endpoint:
            self.endpoints.append(endpoint)
            raise ApiRequestError("Insufficient rights to query records", status=403)
        return await super().execute(endpoint, *args, **kwargs)


async def test_a_refused_read_back_broadcasts_what_the_poll_saw_and_says_so_in_the_log() -> None:
    instance = FailingReadBacks()
    instance.put(CASE, "c1", 0, state="1")
    instance.put(CASE, "c2", 0, state="1")
    batches = poll_table(instance, PollTarget(CASE), 0.0, lambda table, records: None)

    async def change_after_two_polls() -> None:
        while len(instance.endpoints) < 3:
            await asyncio.sleep(0)
        instance.put(CASE, "c1", 1, state="2")
        instance.put(CASE, "c2", 1, state="3")

    changer = asyncio.create_task(change_after_two_polls())
    with capture_logs() as logs:
        batch = await anext(batches)
    await batches.aclose()
    await changer
    # Both changes go out (the watermark has moved past them), from the poll's own rows.
    assert sorted((table, record["sys_id"], record["state"]) for table, record in batch) == [
        (CASE, "c1", "2"),
        (CASE, "c2", "3"),
    ]
    failures = [entry for entry in logs if entry["event"].startswith("broadcast.")]
    assert [(entry["event"], entry["log_level"], entry["table"]) for entry in failures] == [
        ("broadcast.read_back_failed", "warning", CASE)
    ]


class Recording(TaskInstance):
    """A task instance that says when it was first asked anything."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()

    async def execute(self, endpoint: str, *args: Any, **kwargs: Any) -> ApiResponse:
        self.asked.set()
        return await super().execute(endpoint, *args, **kwargs)


class Observer:
    """A ``PollObserver`` that hands out the executor it was built with and notes who asked."""

    def __init__(self, executor: Recording) -> None:
        self.executor = executor
        self.asked: list[tuple[object, tuple[str, ...]]] = []

    def observed(self, connection: Connection, *tables: str) -> Executor:
        self.asked.append((connection, tables))
        return cast(Executor, self.executor)


async def _until_asked(polling: TablePolling, connection: Recording, asked: Recording) -> None:
    target = PollTarget("task", (CASE, "incident"))
    batches = polling.changes(cast(Connection, connection), target, lambda table, records: None)
    reader = asyncio.ensure_future(anext(batches))
    try:
        async with asyncio.timeout(WAIT):
            await asked.asked.wait()
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def test_table_polling_sends_every_poll_request_through_the_observer_when_there_is_one() -> None:
    connection, observed = Recording(), Recording()
    observer = Observer(observed)
    await _until_asked(TablePolling(0.0, observer), connection, observed)
    assert observer.asked == [(connection, (CASE, "incident"))]
    assert not connection.asked.is_set()
    # Positive control: without an observer the connection itself is asked.
    await _until_asked(TablePolling(0.0), connection, connection)
