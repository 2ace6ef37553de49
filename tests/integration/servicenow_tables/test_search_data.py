"""What ``servicenow.search`` and case notifications need from the emulator: LIKE on the searched fields of
the five default tables, plain tasks and incidents beside the cases, customers who comment as themselves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapter.bridge.search import search_endpoint
from adapter.search_types import DEFAULT_SEARCH_TYPES
from tests.integration.servicenow_tables.conftest import CASES
from tests.support.servicenow_emulator import ServiceNowEmulator

pytestmark = pytest.mark.asyncio(loop_scope="module")

TYPES = {search_type.name: search_type for search_type in DEFAULT_SEARCH_TYPES}


async def _rows(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    response = await client.get(path, params=params)
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()["result"]
    return rows


@pytest.mark.parametrize(
    ("type_name", "text", "field"),
    [
        ("Contact", "ava", "name"),
        ("Account", "Capital", "name"),
        ("Case", "wire", "short_description"),
        ("Task", "call back", "short_description"),
        ("Task", "TASK00", "number"),
    ],
)
async def test_each_default_type_matches_its_fields_with_like(
    beth: httpx.AsyncClient, type_name: str, text: str, field: str
) -> None:
    response = await beth.get(search_endpoint(TYPES[type_name], text, 30))
    rows = response.json()["result"]
    assert rows
    assert all(text.lower() in row[field]["display_value"].lower() for row in rows)
    updated = [row["sys_updated_on"]["value"] for row in rows]
    assert updated == sorted(updated, reverse=True)
    if type_name == "Task":
        assert {row["sys_class_name"]["value"] for row in rows} == {"task"}


async def test_incidents_are_searchable_by_number_and_description_for_itil(abel: httpx.AsyncClient) -> None:
    by_text = (await abel.get(search_endpoint(TYPES["Incident"], "timeouts", 50))).json()["result"]
    assert by_text
    assert all("timeouts" in row["short_description"]["value"] for row in by_text)
    number = by_text[0]["number"]["value"]
    by_number = (await abel.get(search_endpoint(TYPES["Incident"], number, 50))).json()["result"]
    assert [row["number"]["value"] for row in by_number] == [number]
    states = {row["state"] for row in await _rows(abel, "/api/now/table/incident", sysparm_fields="state")}
    assert len(states) >= 4


async def test_tasks_have_approvals_and_a_mix_of_states(beth: httpx.AsyncClient) -> None:
    rows = await _rows(
        beth,
        "/api/now/table/task",
        sysparm_query="sys_class_name=task",
        sysparm_fields="approval,state,assigned_to",
        sysparm_display_value="true",
    )
    assert len(rows) >= 20
    assert len({row["approval"] for row in rows}) >= 3
    assert len({row["state"] for row in rows}) >= 3
    assert all(row["assigned_to"] for row in rows)


async def test_a_primary_contact_comments_on_a_case_as_themselves(
    emulator: ServiceNowEmulator, admin: httpx.AsyncClient
) -> None:
    account = (
        await _rows(
            admin, "/api/now/table/customer_account", sysparm_limit="1", sysparm_fields="primary_contact"
        )
    )[0]
    found = await admin.get(
        f"/api/now/table/customer_contact/{account['primary_contact']['value']}",
        params={"sysparm_fields": "user_name,sys_id"},
    )
    contact = found.json()["result"]
    created = await admin.post(
        CASES, json={"short_description": "Portal comment", "contact": contact["sys_id"]}
    )
    case = created.json()["result"]
    user = contact["user_name"]
    async with httpx.AsyncClient(base_url=emulator.url, auth=(user, user), timeout=10.0) as customer:
        patched = await customer.patch(f"{CASES}/{case['sys_id']}", json={"comments": "Still failing today"})
        assert patched.status_code == 200
        assert patched.json()["result"]["sys_updated_by"] == user


async def test_a_contact_who_is_not_a_primary_contact_cannot_sign_in(
    emulator: ServiceNowEmulator, admin: httpx.AsyncClient
) -> None:
    primary = {
        row["primary_contact"]["value"]
        for row in await _rows(admin, "/api/now/table/customer_account", sysparm_fields="primary_contact")
    }
    others = [
        row
        for row in await _rows(admin, "/api/now/table/customer_contact", sysparm_fields="sys_id,user_name")
        if row["sys_id"] not in primary
    ]
    user = others[0]["user_name"]
    async with httpx.AsyncClient(base_url=emulator.url, auth=(user, user), timeout=10.0) as stranger:
        assert (await stranger.get(CASES, params={"sysparm_limit": "1"})).status_code == 401
