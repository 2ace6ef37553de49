"""The search's pure parts (endpoint, scores, ranking) and how one type's failure ends the others' reads."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
from structlog.testing import capture_logs

from adapter.bridge.access import AccessPolicy
from adapter.bridge.messages import SearchPayload, SearchResult
from adapter.bridge.search import RecordSearch, match_score, rank, search_endpoint
from adapter.openfin import ActionError, ChannelProvider, ClientIdentity
from adapter.search_types import DEFAULT_SEARCH_TYPES, CardField, SearchType
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
    with capture_logs() as logs:
        result = await search._run(cast(Connection, Answers()), SearchPayload(query="wire"), search.types)
    # The operator sees which type failed and why; the app sees it in the group.
    assert [(entry["event"], entry.get("type")) for entry in logs if entry["log_level"] == "info"] == [
        ("search.type_failed", "Incident")
    ]
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


CONTACT = SearchType(
    name="Contact",
    table="customer_contact",
    search_fields=("name",),
    title_field="name",
    label_field="title",
    card_fields=(CardField(field="city", label="City"), CardField(field="department", label="Department")),
    phone_field="phone",
    email_field="email",
    limit=50,
)


class _Contacts:
    """Answers every read with two contacts, one with every card field filled and one with none."""

    key = SimpleNamespace(origin="https://acme.service-now.com")

    def __init__(self) -> None:
        self.endpoints: list[str] = []

    async def execute(self, endpoint: str) -> ApiResponse:
        self.endpoints.append(endpoint)
        full = {
            "sys_id": "a" * 32,
            "name": "Ada Wire",
            "title": "Treasurer",
            "city": "London",
            "department": "",
            "phone": "+44 20 7946 0000",
            "email": "ada@example.com",
        }
        bare = {"sys_id": "b" * 32, "name": "Bob Wire", "title": "", "city": "", "phone": "", "email": ""}
        return ApiResponse(status=200, data=[full, bare])


async def test_a_hit_carries_the_types_label_card_phone_and_e_mail_and_asks_for_their_fields() -> None:
    connection = _Contacts()
    search = RecordSearch(_manager(), AccessPolicy([]), [CONTACT])
    result = await search._run(cast(Connection, connection), SearchPayload(query="wire"), search.types)

    params = parse_qs(urlsplit(connection.endpoints[0]).query)
    assert {"name", "title", "city", "department", "phone", "email"} <= set(
        params["sysparm_fields"][0].split(",")
    )
    full, bare = result.groups[0].hits
    assert full.label == "Contact Treasurer"
    assert [(line.label, line.value) for line in full.fields] == [("City", "London")]
    assert (full.phone, full.email) == ("+44 20 7946 0000", "ada@example.com")
    # Empty values are left out, not shown as blank lines or empty buttons.
    assert (bare.label, bare.fields, bare.phone, bare.email) == ("Contact", [], None, None)


async def test_a_type_with_the_highest_limit_fetches_at_most_100_records() -> None:
    # Three times 50 would be 150: the over-fetch for ranking is bounded.
    connection = _Contacts()
    search = RecordSearch(_manager(), AccessPolicy([]), [CONTACT])
    await search._run(cast(Connection, connection), SearchPayload(query="wire"), search.types)
    assert parse_qs(urlsplit(connection.endpoints[0]).query)["sysparm_limit"] == ["100"]


class _HeldReads:
    """A connection whose reads wait until the test answers them, so that searches overlap."""

    key = SimpleNamespace(origin="https://acme.service-now.com")

    def __init__(self) -> None:
        self.reads: list[asyncio.Future[None]] = []
        self.readers: list[asyncio.Task[Any]] = []
        self.endpoints: list[str] = []
        self.started = asyncio.Event()

    async def execute(self, endpoint: str) -> ApiResponse:
        self.endpoints.append(endpoint)
        answer = asyncio.get_running_loop().create_future()
        self.reads.append(answer)
        reader = asyncio.current_task()
        assert reader is not None
        self.readers.append(reader)
        self.started.set()
        await answer
        return ApiResponse(status=200, data=[{"sys_id": "c" * 32, "name": "Ada Wire"}])


class _Manager:
    """Hands every app the one connection, as the shared login does."""

    def __init__(self, connection: _HeldReads) -> None:
        self._connection = connection
        self.asked: list[tuple[str, str | None]] = []

    def connection(self, app: str, instance_url: str | None) -> _HeldReads:
        self.asked.append((app, instance_url))
        return self._connection


def _held_search() -> tuple[RecordSearch, _HeldReads, _Manager]:
    connection = _HeldReads()
    manager = _Manager(connection)
    return RecordSearch(cast(ConnectionManager, manager), AccessPolicy([]), [CONTACT]), connection, manager


async def _searching(search: RecordSearch, payload: SearchPayload, caller: ClientIdentity) -> SearchResult:
    return await search.search(payload, caller)


def _app(name: str, endpoint: str = "e1") -> ClientIdentity:
    return ClientIdentity(uuid="platform", name=name, endpoint_id=endpoint)


async def _next_read(connection: _HeldReads) -> asyncio.Future[None]:
    await connection.started.wait()
    connection.started.clear()
    return connection.reads[-1]


async def test_a_search_answers_with_every_type_when_none_is_named() -> None:
    search, connection, manager = _held_search()
    running = asyncio.create_task(_searching(search, SearchPayload(query="wire"), _app("blotter")))
    (await _next_read(connection)).set_result(None)
    result = await running
    assert [group.type for group in result.groups] == ["Contact"]
    assert [hit.title for hit in result.groups[0].hits] == ["Ada Wire"]
    assert manager.asked == [("platform/blotter", None)]
    assert (search._running, search._superseded) == ({}, set())


async def test_a_newer_search_of_an_app_cancels_its_older_one_and_not_another_apps() -> None:
    search, connection, _manager = _held_search()
    older = asyncio.create_task(_searching(search, SearchPayload(query="wi"), _app("blotter", "e1")))
    older_read = await _next_read(connection)
    other = asyncio.create_task(_searching(search, SearchPayload(query="wire"), _app("chart")))
    other_read = await _next_read(connection)
    # The same app from another connection (another tab of one view) supersedes too.
    newer = asyncio.create_task(_searching(search, SearchPayload(query="wire"), _app("blotter", "e2")))
    newer_read = await _next_read(connection)

    with pytest.raises(ActionError) as refused:
        await older
    assert refused.value.name == "SearchCancelledError"
    assert older_read.cancelled()
    assert not other_read.done()
    newer_read.set_result(None)
    other_read.set_result(None)
    assert [hit.title for hit in (await newer).groups[0].hits] == ["Ada Wire"]
    assert [hit.title for hit in (await other).groups[0].hits] == ["Ada Wire"]
    assert (search._running, search._superseded) == ({}, set())


async def test_a_finished_search_is_not_cancelled_by_the_next_one() -> None:
    search, connection, _manager = _held_search()
    first = asyncio.create_task(_searching(search, SearchPayload(query="wire"), _app("blotter")))
    (await _next_read(connection)).set_result(None)
    await first
    second = asyncio.create_task(_searching(search, SearchPayload(query="wire"), _app("blotter")))
    (await _next_read(connection)).set_result(None)
    assert [hit.title for hit in (await second).groups[0].hits] == ["Ada Wire"]
    assert not first.cancelled()


async def test_an_app_that_goes_away_stops_its_searchs_reads() -> None:
    search, connection, _manager = _held_search()
    running = asyncio.create_task(_searching(search, SearchPayload(query="wire"), _app("blotter")))
    read = await _next_read(connection)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    # The read is cancelled with the search, not left to finish for nobody.
    await asyncio.wait(connection.readers)
    assert read.cancelled()
    assert all(reader.cancelled() for reader in connection.readers)
    assert (search._running, search._superseded) == ({}, set())


async def test_an_unknown_search_type_is_refused_naming_the_known_ones() -> None:
    search, _connection, manager = _held_search()
    with pytest.raises(ActionError, match=r"Unknown search type 'Ticket'; known: Contact$") as refused:
        await search.search(SearchPayload(query="wire", types=["Contact", "Ticket", "Deal"]), _app("blotter"))
    assert refused.value.name == "ParameterError"
    assert manager.asked == []


def test_the_search_is_registered_as_servicenow_search_with_its_payload_model() -> None:
    registered: list[tuple[str, object, object]] = []

    class Provider:
        def register(self, action: str, handler: object, *, payload: object) -> None:
            registered.append((action, handler, payload))

    search, _connection, _manager = _held_search()
    search.register(cast(ChannelProvider, Provider()))
    assert registered == [("servicenow.search", search.search, SearchPayload)]


async def test_a_search_of_named_types_reads_only_those() -> None:
    connection = _HeldReads()
    account = next(t for t in DEFAULT_SEARCH_TYPES if t.name == "Account")
    search = RecordSearch(cast(ConnectionManager, _Manager(connection)), AccessPolicy([]), [account, CONTACT])
    running = asyncio.create_task(
        _searching(search, SearchPayload(query="wire", types=["Contact"]), _app("x"))
    )
    (await _next_read(connection)).set_result(None)
    result = await running
    assert [group.type for group in result.groups] == ["Contact"]
    assert len(connection.reads) == 1
    assert "/customer_contact?" in connection.endpoints[0]


async def test_a_failed_search_returns_only_once_the_other_types_reads_have_ended() -> None:
    # A read's cancellation can take a few turns of the loop (closing its HTTP exchange); the search's
    # error reaches the app only after every read has let go of the connection.
    ended: list[str] = []

    class SlowToStop:
        key = SimpleNamespace(origin="https://acme.service-now.com")

        async def execute(self, endpoint: str) -> ApiResponse:
            if "/sn_customerservice_case?" in endpoint:
                await asyncio.sleep(0)
                raise AuthTokenExpiredError()
            try:
                await asyncio.Event().wait()
            finally:
                for _ in range(5):
                    await asyncio.sleep(0)
                ended.append(endpoint)
            raise AssertionError("unreachable")

    search = RecordSearch(_manager(), AccessPolicy([]), DEFAULT_SEARCH_TYPES)
    with pytest.raises(AuthTokenExpiredError):
        await search._run(cast(Connection, SlowToStop()), SearchPayload(query="wire"), search.types)
    assert len(ended) == len(DEFAULT_SEARCH_TYPES) - 1
