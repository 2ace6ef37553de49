"""The search's pure parts (endpoint, scores, ranking) and how one type's failure ends the others' reads."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest

from adapter.bridge.access import AccessPolicy
from adapter.bridge.messages import SearchPayload
from adapter.bridge.search import RecordSearch, match_score, rank, search_endpoint
from adapter.search_types import DEFAULT_SEARCH_TYPES, SearchType
from adapter.servicenow.authorizers import HttpAuthorizer
from adapter.servicenow.connection import Connection
from adapter.servicenow.errors import ApiRequestError, AuthTokenExpiredError
from adapter.servicenow.manager import ConnectionManager
from adapter.servicenow.response import ApiResponse


def _manager() -> ConnectionManager:
    # The search under test is handed its connection directly: the manager is never asked for one.
    return ConnectionManager(HttpAuthorizer())


CASE = next(t for t in DEFAULT_SEARCH_TYPES if t.name == "Case")
TASK = next(t for t in DEFAULT_SEARCH_TYPES if t.name == "Task")


def test_the_endpoint_ors_the_search_fields_ands_the_condition_and_orders_newest_first() -> None:
    params = parse_qs(urlsplit(search_endpoint(TASK, "wire", 30)).query)
    assert params["sysparm_query"] == [
        "sys_class_name=task^numberLIKEwire^ORshort_descriptionLIKEwire^ORDERBYDESCsys_updated_on"
    ]
    assert params["sysparm_limit"] == ["30"]
    assert params["sysparm_display_value"] == ["all"]
    fields = params["sysparm_fields"][0].split(",")
    assert fields[:3] == ["sys_id", "sys_class_name", "sys_updated_on"]
    assert {"assigned_to", "approval", "number", "short_description"} <= set(fields)


def test_text_is_percent_encoded_in_the_url() -> None:
    endpoint = search_endpoint(CASE, "a&b=c #d%", 10)
    assert "&b=" not in endpoint
    assert "#" not in endpoint
    query = parse_qs(urlsplit(endpoint).query)["sysparm_query"][0]
    assert "numberLIKEa&b=c #d%^ORshort_descriptionLIKEa&b=c #d%" in query


@pytest.mark.parametrize(
    ("values", "score"),
    [
        (["Wire"], 3),
        (["Wire transfer"], 2),
        (["Late wire transfer"], 1),
        (["Late-wire"], 1),
        (["Rewire"], 0),
        (["CS0001", "Rewire", "wire it"], 2),
    ],
)
def test_match_score(values: list[str], score: int) -> None:
    assert match_score("wire", values) == score


def test_rank_puts_better_matches_first_and_keeps_newest_first_among_equals() -> None:
    records = [
        {"number": "CS3", "short_description": "Rewire"},
        {"number": "CS2", "short_description": "Wire transfer late"},
        {"number": "CS1", "short_description": "Wire transfer early"},
        {"number": "CS0", "short_description": "wire"},
    ]
    assert [r["number"] for r in rank("wire", CASE, records)] == ["CS0", "CS2", "CS1", "CS3"]


class _Connection:
    """Answers the Case read with an expired login and holds every other read until cancelled."""

    def __init__(self) -> None:
        self.key = SimpleNamespace(origin="https://acme.service-now.com")
        self.held: list[asyncio.Task[Any]] = []
        self.released = asyncio.Event()

    async def execute(self, endpoint: str) -> ApiResponse:
        if "/sn_customerservice_case?" in endpoint:
            await asyncio.sleep(0)
            raise AuthTokenExpiredError()
        if "/incident?" in endpoint:
            raise ApiRequestError("Insufficient rights to query records", status=403)
        task = asyncio.current_task()
        assert task is not None
        self.held.append(task)
        try:
            await asyncio.Event().wait()
        finally:
            self.released.set()
        raise AssertionError("unreachable")


async def test_an_expired_login_fails_the_search_and_ends_the_other_types_reads() -> None:
    search = RecordSearch(_manager(), AccessPolicy([]), DEFAULT_SEARCH_TYPES)
    connection = _Connection()
    with pytest.raises(AuthTokenExpiredError):
        await search._run(cast(Connection, connection), SearchPayload(query="wire"), search.types)
    assert connection.held, "the other types' reads were running"
    assert all(task.cancelled() for task in connection.held)
    assert connection.released.is_set()


async def test_a_forbidden_type_is_reported_in_its_group_and_the_others_answer() -> None:
    class Answers:
        key = SimpleNamespace(origin="https://acme.service-now.com")

        async def execute(self, endpoint: str) -> ApiResponse:
            if "/incident?" in endpoint:
                raise ApiRequestError("Insufficient rights to query records", status=403)
            return ApiResponse(status=200, data=[{"sys_id": "1" * 32, "name": "Wire Ltd", "number": "X1"}])

    only = [t for t in DEFAULT_SEARCH_TYPES if t.name in ("Account", "Incident")]
    search = RecordSearch(_manager(), AccessPolicy([]), only)
    result = await search._run(cast(Connection, Answers()), SearchPayload(query="wire"), search.types)
    account, incident = result.groups
    assert [hit.title for hit in account.hits] == ["Wire Ltd"]
    assert account.hits[0].url == f"https://acme.service-now.com/customer_account.do?sys_id={'1' * 32}"
    assert incident.hits == []
    assert incident.error is not None
    assert (incident.error.name, incident.error.status) == ("ApiRequestError", 403)


async def test_a_type_fetches_three_times_its_limit_and_keeps_the_best_up_to_it() -> None:
    class Many:
        key = SimpleNamespace(origin="https://acme.service-now.com")
        endpoints: list[str] = []

        async def execute(self, endpoint: str) -> ApiResponse:
            self.endpoints.append(endpoint)
            rows = [
                {"sys_id": f"{n:032x}", "number": f"TASK{n}", "short_description": "x"} for n in range(12)
            ]
            rows[9]["number"] = "wire"
            return ApiResponse(status=200, data=rows)

    few = SearchType(name="Few", table="task", search_fields=("number",), title_field="number", limit=4)
    connection = Many()
    search = RecordSearch(_manager(), AccessPolicy([]), [few])
    result = await search._run(cast(Connection, connection), SearchPayload(query="wire"), search.types)
    assert parse_qs(urlsplit(connection.endpoints[0]).query)["sysparm_limit"] == ["12"]
    hits = result.groups[0].hits
    assert len(hits) == 4
    assert hits[0].title == "wire"
    assert [hit.title for hit in hits[1:]] == ["TASK0", "TASK1", "TASK2"]
    capped = await search._run(
        cast(Connection, connection), SearchPayload(query="wire", limit=2), search.types
    )
    assert parse_qs(urlsplit(connection.endpoints[1]).query)["sysparm_limit"] == ["6"]
    assert len(capped.groups[0].hits) == 2
