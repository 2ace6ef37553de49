"""Watched tables that extend task: one query on task per poll, changes still reported per table."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest

from adapter.bridge.broadcast import (
    Baseline,
    ChangeBroadcaster,
    PollTarget,
    RecordBatches,
    poll_table,
    poll_targets,
)
from adapter.bridge.changes import RecordChange
from adapter.servicenow.connection import Connection, ConnectionKey
from adapter.servicenow.response import ApiResponse
from adapter.settings import DEFAULT_TASK_TABLES, SettingsError, load_settings
from tests.support.waiting import eventually

CASE, INCIDENT = "sn_customerservice_case", "incident"
# Fields the instance keeps on the case itself, which a query on task does not return.
CASE_ONLY = frozenset({"contact"})


def test_two_or_more_task_tables_share_one_target_and_the_others_keep_their_own() -> None:
    targets = poll_targets([CASE, "sys_user", INCIDENT, CASE], DEFAULT_TASK_TABLES)
    assert targets == [PollTarget("task", (CASE, INCIDENT)), PollTarget("sys_user")]
    assert targets[0].tables == (CASE, INCIDENT)


def test_one_task_table_or_none_known_is_polled_by_itself() -> None:
    assert poll_targets([CASE], DEFAULT_TASK_TABLES) == [PollTarget(CASE)]
    assert poll_targets([CASE, INCIDENT], ()) == [PollTarget(CASE), PollTarget(INCIDENT)]
    # Watching task itself is its own query: it returns every class, not only the ones listed.
    assert poll_targets(["task", CASE], ["task", CASE]) == [PollTarget("task"), PollTarget(CASE)]


def test_a_shared_target_reports_records_by_their_class_and_drops_classes_not_watched() -> None:
    target = PollTarget("task", (CASE, INCIDENT))
    assert target.table_of({"sys_class_name": INCIDENT}) == INCIDENT
    assert target.table_of({"sys_class_name": {"value": CASE, "display_value": "Case"}}) == CASE
    assert target.table_of({"sys_class_name": "problem"}) is None
    assert PollTarget(CASE).table_of({"sys_class_name": "sn_bom_case"}) == CASE


class TaskInstance:
    """Task records in one parent table, as an instance keeps them; answers the queries the poller sends.

    ``changes`` are applied just before the task query with that number (1 = the baseline) is answered.
    """

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, str]] = {}
        self.endpoints: list[str] = []
        self.changes: dict[int, list[dict[str, Any]]] = {}
        self.task_queries = 0

    def put(self, table: str, sys_id: str, mod_count: int, **fields: str) -> None:
        self.rows[sys_id] = {
            "sys_id": sys_id,
            "sys_class_name": table,
            "sys_mod_count": str(mod_count),
            "sys_updated_on": f"2026-01-01 10:00:{mod_count:02d}",
            "number": sys_id.upper(),
            **fields,
        }

    async def execute(
        self,
        endpoint: str,
        method: str = "GET",
        data: Any = None,
        suppress_response_body: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        self.endpoints.append(endpoint)
        table = urlsplit(endpoint).path.rsplit("/", 1)[1]
        if table == "task":
            self.task_queries += 1
            for change in self.changes.pop(self.task_queries, []):
                self.put(**change)
        query = parse_qs(urlsplit(endpoint).query)["sysparm_query"][0]
        rows = list(self.rows.values())
        for term in query.split("^"):
            if term.startswith("sys_class_nameIN"):
                rows = [
                    r for r in rows if r["sys_class_name"] in term.removeprefix("sys_class_nameIN").split(",")
                ]
            elif term.startswith("sys_idIN"):
                rows = [r for r in rows if r["sys_id"] in term.removeprefix("sys_idIN").split(",")]
            elif term.startswith("sys_updated_on>="):
                rows = [r for r in rows if r["sys_updated_on"] >= term.removeprefix("sys_updated_on>=")]
        if table == "task":
            rows = [{k: v for k, v in row.items() if k not in CASE_ONLY} for row in rows]
        else:
            rows = [row for row in rows if row["sys_class_name"] == table]
        rows.sort(key=lambda row: row["sys_updated_on"])
        return ApiResponse(status=200, data=rows)

    def requested(self) -> list[str]:
        """Each request as ``<table> <first query term>``."""
        described = []
        for endpoint in self.endpoints:
            parts = urlsplit(endpoint)
            query = parse_qs(parts.query)["sysparm_query"][0]
            described.append(f"{parts.path.rsplit('/', 1)[1]} {query.split('^')[0][:16]}")
        return described


def seeded() -> TaskInstance:
    instance = TaskInstance()
    instance.put(CASE, "c1", 0, state="1", contact="alice")
    instance.put(INCIDENT, "i1", 0, state="1")
    instance.put("problem", "p1", 0, state="1")
    return instance


async def test_each_poll_is_one_query_on_task_however_many_task_tables_are_watched() -> None:
    instance = seeded()
    # Idle polls 2 and 3, then the case and the incident change before poll 4.
    instance.changes[4] = [
        {"table": CASE, "sys_id": "c1", "mod_count": 1, "state": "2", "contact": "bob"},
        {"table": INCIDENT, "sys_id": "i1", "mod_count": 1, "state": "2"},
        {"table": "problem", "sys_id": "p1", "mod_count": 1, "state": "2"},
    ]
    primed: dict[str, list[Mapping[str, Any]]] = {}
    batches = poll_table(
        instance,
        PollTarget("task", (CASE, INCIDENT)),
        0.0,
        lambda table, records: primed.setdefault(table, []).extend(records),
    )
    batch = await anext(batches)
    await batches.aclose()

    assert [(table, record["sys_id"], record["state"]) for table, record in batch] == [
        (CASE, "c1", "2"),
        (INCIDENT, "i1", "2"),
    ]
    assert batch[0][1]["contact"] == "bob"  # read back from the case table: task has no contact
    assert {table: [r["contact"] for r in rows if "contact" in r] for table, rows in primed.items()} == {
        CASE: ["alice"],
        INCIDENT: [],
    }
    assert instance.requested() == [
        "task sys_class_nameIN",  # baseline: the watermark
        f"{CASE} ORDERBYDESCsys_u",  # each table's own baseline, once
        f"{INCIDENT} ORDERBYDESCsys_u",
        "task sys_class_nameIN",  # idle: one request
        "task sys_class_nameIN",  # idle: one request
        "task sys_class_nameIN",  # the changes
        f"{CASE} sys_idINc1",  # read back per table that changed
        f"{INCIDENT} sys_idINi1",
    ]


async def test_a_table_polled_by_itself_queries_that_table() -> None:
    instance = seeded()
    instance.rows["c1"]["sys_updated_on"] = "2026-01-01 10:00:00"
    primed: list[str] = []
    batches = poll_table(instance, PollTarget(CASE), 0.0, lambda table, records: primed.append(table))
    instance.changes.clear()

    async def change_after_two_polls() -> None:
        await eventually(lambda: len(instance.endpoints) >= 3, "the baseline and two polls")
        instance.put(CASE, "c1", 1, state="2", contact="alice")

    changer = asyncio.create_task(change_after_two_polls())
    batch = await anext(batches)
    await batches.aclose()
    await changer
    assert [(table, record["sys_id"]) for table, record in batch] == [(CASE, "c1")]
    assert primed == [CASE]
    assert all(endpoint.startswith(f"/api/now/table/{CASE}?") for endpoint in instance.endpoints)


async def test_the_first_change_after_start_names_fields_only_the_watched_table_has() -> None:
    instance = seeded()
    instance.changes[3] = [{"table": CASE, "sys_id": "c1", "mod_count": 1, "state": "1", "contact": "bob"}]
    recipient = Recorded()
    broadcaster = ChangeBroadcaster(
        [CASE, INCIDENT], TaskPolling(instance), recipient, task_tables=DEFAULT_TASK_TABLES
    )
    connection = cast(Connection, _Keyed(ConnectionKey("https://acme.service-now.com", "client")))
    broadcaster.connection_acquired(connection)
    await recipient.arrived.wait()
    await broadcaster.aclose()
    assert [(c.table, c.sys_id, c.changed_fields) for c in recipient.changes] == [(CASE, "c1", ("contact",))]


class TaskPolling:
    """``poll_table`` on the task instance, as ``TablePolling`` runs it on a connection."""

    def __init__(self, instance: TaskInstance) -> None:
        self._instance = instance

    def changes(self, connection: Connection, target: PollTarget, baseline: Baseline) -> RecordBatches:
        return poll_table(self._instance, target, 0.0, baseline)


class Recorded:
    """A ``ChangeRecipient`` that keeps what it is handed."""

    def __init__(self) -> None:
        self.changes: list[RecordChange] = []
        self.arrived = asyncio.Event()

    async def deliver(self, connection: Connection, change: RecordChange) -> None:
        self.changes.append(change)
        self.arrived.set()


class _Keyed:
    def __init__(self, key: ConnectionKey) -> None:
        self.key = key


def test_the_task_tables_setting_can_be_emptied_and_refuses_bad_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().task_table == list(DEFAULT_TASK_TABLES)
    monkeypatch.setenv("SERVICENOW_ADAPTER_TASK_TABLE", "")
    assert load_settings().task_table == []
    with pytest.raises(SettingsError, match="not a table name"):
        load_settings({"task_table": ["task; drop"]})
