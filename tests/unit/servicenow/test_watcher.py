"""The watermark tracker and the watcher's queries and backoff, without an instance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from adapter.servicenow.errors import ApiRequestError
from adapter.servicenow.response import ApiResponse
from adapter.servicenow.watcher import ChangeWatcher, WatchSettings, WatermarkTracker


def record(sys_id: str, updated: str, mod_count: int) -> dict[str, str]:
    return {"sys_id": sys_id, "sys_updated_on": updated, "sys_mod_count": str(mod_count)}


def test_each_version_is_reported_once_across_overlapping_polls() -> None:
    tracker = WatermarkTracker(overlap=timedelta(seconds=5))
    first = [record("a", "2026-01-01 10:00:00", 0), record("b", "2026-01-01 10:00:03", 2)]
    assert tracker.absorb(first) == first
    assert tracker.absorb([*first, record("a", "2026-01-01 10:00:04", 1)]) == [
        record("a", "2026-01-01 10:00:04", 1)
    ]
    assert tracker.watermark == datetime(2026, 1, 1, 10, 0, 4, tzinfo=UTC)
    assert tracker.since() == datetime(2026, 1, 1, 9, 59, 59, tzinfo=UTC)


def test_records_without_identity_or_time_are_ignored() -> None:
    tracker = WatermarkTracker()
    assert tracker.absorb([{"sys_id": "a"}, {"sys_updated_on": "2026-01-01 10:00:00"}, {}]) == []
    assert tracker.watermark is None


class ScriptedConnection:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.endpoints: list[str] = []

    async def execute(
        self,
        endpoint: str,
        method: str = "GET",
        data: Any = None,
        suppress_response_body: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        self.endpoints.append(endpoint)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return ApiResponse(status=200, data=answer)


def query_of(endpoint: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(endpoint).query).items()}


async def test_the_first_poll_is_a_silent_baseline_then_only_newer_versions_come() -> None:
    connection = ScriptedConnection(
        [
            [record("a", "2026-01-01 10:00:00", 3)],
            [record("a", "2026-01-01 10:00:00", 3), record("b", "2026-01-01 10:00:09", 0)],
        ]
    )
    watcher = ChangeWatcher(connection, WatchSettings("sn_customerservice_case", fields=["number"]))
    assert await watcher.poll_once() == []
    assert await watcher.poll_once() == [record("b", "2026-01-01 10:00:09", 0)]
    baseline, second = map(query_of, connection.endpoints)
    assert baseline["sysparm_query"] == "ORDERBYDESCsys_updated_on"
    assert (
        second["sysparm_query"] == "sys_updated_on>=2026-01-01 09:59:55^ORDERBYsys_updated_on^ORDERBYsys_id"
    )
    assert second["sysparm_fields"] == "sys_id,sys_updated_on,sys_mod_count,number"
    assert urlsplit(connection.endpoints[0]).path == "/api/now/table/sn_customerservice_case"


async def test_the_baseline_records_are_handed_to_whoever_asked_for_them() -> None:
    held = [record("a", "2026-01-01 10:00:00", 3), record("b", "2026-01-01 09:00:00", 1)]
    seen: list[list[Mapping[str, Any]]] = []
    watcher = ChangeWatcher(
        ScriptedConnection([held]),
        WatchSettings("incident"),
        on_baseline=lambda records: seen.append(list(records)),
    )
    assert await watcher.poll_once() == []
    assert seen == [held]


async def test_a_full_page_is_followed_by_the_next_page() -> None:
    page = [record(f"r{i}", "2026-01-01 10:00:00", 1) for i in range(2)]
    connection = ScriptedConnection([[], page, [record("r9", "2026-01-01 10:00:01", 0)]])
    watcher = ChangeWatcher(connection, WatchSettings("incident", page_size=2))
    await watcher.poll_once()
    assert len(await watcher.poll_once()) == 3
    assert [query_of(e)["sysparm_offset"] for e in connection.endpoints[1:]] == ["0", "2"]


async def test_failures_back_off_exponentially_up_to_the_cap_and_recover() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    failure = ApiRequestError("Rate limit exceeded", status=429)
    connection = ScriptedConnection(
        [[], failure, failure, failure, failure, failure, [record("a", "2026-01-01 10:00:00", 0)]]
    )
    watcher = ChangeWatcher(
        connection, WatchSettings("incident", interval=10, max_backoff=60), sleep=sleep, rng=lambda: 1.0
    )
    batches = watcher.changes()
    assert await anext(batches) == [record("a", "2026-01-01 10:00:00", 0)]
    assert waits == [10, 20, 40, 60, 60, 60]
    await batches.aclose()


async def test_an_unexpected_answer_is_a_request_error() -> None:
    watcher = ChangeWatcher(ScriptedConnection([{"not": "a list"}]), WatchSettings("incident"))
    with pytest.raises(ApiRequestError):
        await watcher.poll_once()
