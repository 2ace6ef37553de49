"""Two watched tables that extend task are polled as one query on task, and changes still arrive per table.

The adapter signs in as a customer service agent, who reads cases and their financial-services extension
(``sn_bom_financial_service``, a case class two levels down); both are named as task tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from tests.conformance.adapter.conftest import WAIT, AdapterStack, adapter_stack
from tests.support.waiting import eventually_blocking

CASE, FSO = "sn_customerservice_case", "sn_bom_financial_service"
TASK_POLL = "GET /api/now/table/task"


@pytest.fixture(scope="module")
def desktop() -> Iterator[AdapterStack]:
    tables = ("--watch-table", CASE, "--watch-table", FSO, "--task-table", CASE, "--task-table", FSO)
    with adapter_stack("built-in", *tables) as stack:
        yield stack


def wait_for_polls(stack: AdapterStack, at_least: int) -> dict[str, int]:
    counts: dict[str, int] = {}

    def polled() -> bool:
        counts.update(stack.stats())
        return counts.get(TASK_POLL, 0) >= at_least

    eventually_blocking(polled, f"{at_least} polls of task", timeout=WAIT)
    return counts


def one_record(stack: AdapterStack, table: str) -> dict[str, Any]:
    with stack.instance_client() as admin:
        found = admin.get(
            f"/api/now/table/{table}",
            params={
                "sysparm_query": f"sys_class_name={table}^ORDERBYDESCsys_updated_on",
                "sysparm_fields": "sys_id,state",
                "sysparm_limit": "1",
            },
        )
        result: dict[str, Any] = found.json()["result"][0]
        return result


def is_record(sys_id: str, event: Any) -> bool:
    return bool(event["sys_id"] == sys_id)


def test_polls_query_task_once_and_never_each_table(desktop: AdapterStack) -> None:
    app = desktop.app("watched-tables-idle")
    app.connect()
    first = wait_for_polls(desktop, 2)
    later = wait_for_polls(desktop, first[TASK_POLL] + 3)
    assert later[TASK_POLL] >= first[TASK_POLL] + 3  # positive control: polling goes on, on task
    for table in (CASE, FSO):
        # Only each table's baseline, once; none per poll.
        assert later.get(f"GET /api/now/table/{table}", 0) == first.get(f"GET /api/now/table/{table}", 0)


def test_changes_to_either_table_arrive_under_their_own_table(desktop: AdapterStack) -> None:
    app = desktop.app("watched-tables-changes")
    app.connect()
    wait_for_polls(desktop, 2)
    changed = {}
    with desktop.instance_client() as admin:
        for table in (CASE, FSO):
            record = one_record(desktop, table)
            new_state = "18" if record["state"] != "18" else "10"
            admin.patch(
                f"/api/now/table/{table}/{record['sys_id']}", json={"state": new_state}
            ).raise_for_status()
            changed[table] = record["sys_id"]
    for table, sys_id in changed.items():
        event = app.wait_for("servicenow.recordChanged", partial(is_record, sys_id))
        assert event["table"] == table
        assert event["change"] == "updated"
        assert event["changedFields"] == ["state"]
        assert event["context"]["type"] == "servicenow.case"
