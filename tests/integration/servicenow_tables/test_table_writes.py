"""Writing tables over HTTP: create, update, delete, journal fields, defaults, errors, change visibility."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from tests.integration.servicenow_tables.conftest import CASES, CASES_V2
from tests.support.servicenow_emulator import ServiceNowEmulator

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def create_case(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post(CASES, json={"short_description": "Card blocked abroad", **fields})
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()["result"]
    return record


async def test_post_answers_201_with_location_and_the_full_record(
    admin: httpx.AsyncClient, emulator: ServiceNowEmulator
) -> None:
    response = await admin.post(CASES_V2, json={"short_description": "Statement missing", "priority": "2"})

    assert response.status_code == 201
    record = response.json()["result"]
    assert (
        response.headers["Location"]
        == f"{emulator.url}/api/now/v2/table/sn_customerservice_case/{record['sys_id']}"
    )
    assert re.fullmatch(r"[0-9a-f]{32}", record["sys_id"])
    assert re.fullmatch(r"CS\d{7}", record["number"])
    assert record["task_effective_number"] == record["number"]
    assert record["short_description"] == "Statement missing"
    assert record["priority"] == "2"
    assert (record["state"], record["active"], record["sys_mod_count"]) == ("1", "true", "0")
    assert record["sys_created_by"] == record["sys_updated_by"] == "admin"
    assert record["sys_created_on"] == record["sys_updated_on"] == record["opened_at"]
    assert record["sys_class_name"] == "sn_customerservice_case"
    admin_id = (await admin.get("/api/now/table/sys_user", params={"user_name": "admin"})).json()["result"][
        0
    ]["sys_id"]
    assert record["opened_by"]["value"] == admin_id


async def test_numbers_increase_per_insert(admin: httpx.AsyncClient) -> None:
    first = await create_case(admin)
    second = await create_case(admin)

    assert int(second["number"][2:]) == int(first["number"][2:]) + 1


async def test_no_response_body_header_suppresses_the_body(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        CASES, json={"short_description": "quiet"}, headers={"X-no-response-body": "true"}
    )

    assert response.status_code == 201
    assert response.content == b""
    assert "content-type" not in response.headers  # an empty body labelled JSON breaks the official package
    assert (await admin.get(response.headers["Location"])).json()["result"]["short_description"] == "quiet"


async def test_malformed_body_is_400(admin: httpx.AsyncClient) -> None:
    broken = await admin.post(
        CASES, content=b'{"short_description": ', headers={"Content-Type": "application/json"}
    )
    empty = await admin.post(CASES, content=b"", headers={"Content-Type": "application/json"})
    scalar = await admin.post(CASES, json=42)

    for response in (broken, empty, scalar):
        assert response.status_code == 400
        assert response.json()["status"] == "failure"
        assert response.json()["error"]["message"] == "Exception while reading request"
    assert broken.json()["error"]["detail"] == "The payload is not valid JSON."


async def test_insert_without_the_role_is_403(abel: httpx.AsyncClient) -> None:
    response = await abel.post(CASES, json={"short_description": "not mine"})

    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "message": "Operation Failed",
            "detail": "ACL Exception Insert Failed due to security constraints",
        },
        "status": "failure",
    }


async def test_patch_changes_fields_and_moves_the_update_stamps(
    admin: httpx.AsyncClient, beth: httpx.AsyncClient, emulator: ServiceNowEmulator
) -> None:
    record = await create_case(admin)
    await emulator.advance_clock(120)

    response = await beth.patch(f"{CASES}/{record['sys_id']}", json={"state": "10", "priority": 1})

    updated = response.json()["result"]
    assert response.status_code == 200
    assert (updated["state"], updated["priority"]) == ("10", "1")
    assert updated["sys_mod_count"] == "1"
    assert updated["sys_updated_by"] == "beth.anglin"
    assert updated["sys_updated_on"] > record["sys_updated_on"]
    assert updated["sys_created_on"] == record["sys_created_on"]


async def test_a_record_read_before_a_patch_reads_with_the_change_after_it(admin: httpx.AsyncClient) -> None:
    record = await create_case(admin)
    before = await admin.get(f"{CASES}/{record['sys_id']}")

    await admin.patch(f"{CASES}/{record['sys_id']}", json={"short_description": "Card works again"})
    after = await admin.get(f"{CASES}/{record['sys_id']}")

    assert before.json()["result"]["short_description"] == "Card blocked abroad"
    assert after.json()["result"]["short_description"] == "Card works again"
    assert after.json()["result"]["sys_mod_count"] == "1"


async def test_renaming_a_user_changes_the_display_value_of_a_case_assigned_to_them(
    admin: httpx.AsyncClient,
) -> None:
    user = await admin.post("/api/now/table/sys_user", json={"user_name": "fern.oak", "name": "Fern Oak"})
    user_id = user.json()["result"]["sys_id"]
    record = await create_case(admin, assigned_to=user_id)
    shown = {"sysparm_display_value": "true", "sysparm_fields": "assigned_to"}
    before = await admin.get(f"{CASES}/{record['sys_id']}", params=shown)

    await admin.patch(f"/api/now/table/sys_user/{user_id}", json={"name": "Fern Oakley"})
    after = await admin.get(f"{CASES}/{record['sys_id']}", params=shown)

    assert before.json()["result"]["assigned_to"]["display_value"] == "Fern Oak"
    assert after.json()["result"]["assigned_to"]["display_value"] == "Fern Oakley"


async def test_put_is_a_partial_update_too(admin: httpx.AsyncClient) -> None:
    record = await create_case(admin, description="keep me")

    response = await admin.put(f"{CASES}/{record['sys_id']}", json={"short_description": "renamed"})

    updated = response.json()["result"]
    assert (updated["short_description"], updated["description"]) == ("renamed", "keep me")


async def test_update_with_nothing_changed_keeps_the_mod_count(admin: httpx.AsyncClient) -> None:
    record = await create_case(admin)

    response = await admin.patch(
        f"{CASES}/{record['sys_id']}", json={"short_description": record["short_description"]}
    )

    assert response.json()["result"]["sys_mod_count"] == "0"


async def test_method_override_turns_a_post_into_a_patch(admin: httpx.AsyncClient) -> None:
    record = await create_case(admin)

    response = await admin.post(
        f"{CASES}/{record['sys_id']}", json={"state": "18"}, headers={"X-http-method-override": "PATCH"}
    )

    assert response.status_code == 200
    assert response.json()["result"]["state"] == "18"


async def test_closing_a_case_makes_it_inactive_and_stamps_who_closed_it(admin: httpx.AsyncClient) -> None:
    record = await create_case(admin)

    closed = (await admin.patch(f"{CASES}/{record['sys_id']}", json={"state": "3"})).json()["result"]

    assert closed["active"] == "false"
    assert closed["closed_at"]
    assert closed["closed_by"]["value"] == record["opened_by"]["value"]


async def test_update_of_a_missing_record_is_404(admin: httpx.AsyncClient) -> None:
    response = await admin.patch(f"{CASES}/{'f' * 32}", json={"state": "10"})

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "No Record found"


async def test_update_without_the_role_is_403(admin: httpx.AsyncClient, abel: httpx.AsyncClient) -> None:
    record = await create_case(admin)

    response = await abel.patch(f"{CASES}/{record['sys_id']}", json={"state": "10"})

    assert response.status_code == 403
    assert response.json()["error"] == {
        "message": "Operation Failed",
        "detail": "ACL Exception Update Failed due to security constraints",
    }


async def test_delete_answers_204_and_the_record_is_gone(admin: httpx.AsyncClient) -> None:
    record = await create_case(admin)

    deleted = await admin.delete(f"{CASES}/{record['sys_id']}")
    again = await admin.delete(f"{CASES}/{record['sys_id']}")

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (await admin.get(f"{CASES}/{record['sys_id']}")).status_code == 404
    assert again.status_code == 404


async def test_delete_of_a_readable_but_protected_record_is_403(beth: httpx.AsyncClient) -> None:
    user = (await beth.get("/api/now/table/sys_user", params={"user_name": "admin"})).json()["result"][0]

    response = await beth.delete(f"/api/now/table/sys_user/{user['sys_id']}")

    assert response.status_code == 403
    assert response.json()["error"]["detail"] == "ACL Exception Delete Failed due to security constraints"


async def test_journal_fields_append_entries_read_back_newest_first(
    admin: httpx.AsyncClient, beth: httpx.AsyncClient, emulator: ServiceNowEmulator
) -> None:
    record = await create_case(admin, comments="Customer called about the card.")
    await emulator.advance_clock(60)
    patched = await beth.patch(
        f"{CASES}/{record['sys_id']}", json={"work_notes": "Card unblocked in the core system."}
    )
    url = f"{CASES}/{record['sys_id']}"

    plain = (await admin.get(url, params={"sysparm_fields": "comments,work_notes"})).json()["result"]
    shown = (
        await admin.get(
            url,
            params={"sysparm_display_value": "true", "sysparm_fields": "comments,comments_and_work_notes"},
        )
    ).json()["result"]
    entries = await admin.get(
        "/api/now/table/sys_journal_field",
        params={"sysparm_query": f"element_id={record['sys_id']}^ORDERBYDESCsys_created_on"},
    )

    assert patched.json()["result"]["sys_mod_count"] == "1"
    assert plain == {"comments": "", "work_notes": ""}
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - System Administrator \(Additional comments\)\n"
        r"Customer called about the card\.\n\n",
        shown["comments"],
    )
    combined = shown["comments_and_work_notes"]
    assert combined.index("Beth Anglin (Work notes)\nCard unblocked") < combined.index(
        "(Additional comments)"
    )
    rows = entries.json()["result"]
    assert [(r["element"], r["name"], r["sys_created_by"]) for r in rows] == [
        ("work_notes", "sn_customerservice_case", "beth.anglin"),
        ("comments", "sn_customerservice_case", "admin"),
    ]
    assert rows[1]["value"] == "Customer called about the card."


async def test_input_display_value_resolves_references_and_choice_labels(admin: httpx.AsyncClient) -> None:
    contact = (await admin.get("/api/now/table/customer_contact", params={"sysparm_limit": "1"})).json()[
        "result"
    ][0]

    response = await admin.post(
        CASES,
        params={"sysparm_input_display_value": "true"},
        json={"short_description": "by names", "contact": contact["name"], "state": "Awaiting Info"},
    )

    record = response.json()["result"]
    assert record["contact"]["value"] == contact["sys_id"]
    assert record["state"] == "18"


async def test_fields_and_display_values_apply_to_write_responses(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        CASES,
        params={"sysparm_fields": "number,state", "sysparm_display_value": "true"},
        json={"short_description": "shaped"},
    )

    record = response.json()["result"]
    assert list(record) == ["number", "state"]
    assert record["state"] == "New"


async def test_pollers_see_changes_by_updated_on_watermark(
    admin: httpx.AsyncClient, emulator: ServiceNowEmulator
) -> None:
    record = await create_case(admin)
    await emulator.advance_clock(3600)
    watermark = (await admin.patch(f"{CASES}/{record['sys_id']}", json={"state": "10"})).json()["result"]

    recent = await admin.get(
        CASES,
        params={"sysparm_query": "sys_updated_on>=javascript:gs.minutesAgo(1)", "sysparm_fields": "sys_id"},
    )
    since = await admin.get(
        CASES,
        params={
            "sysparm_query": f"sys_updated_on>={watermark['sys_updated_on']}",
            "sysparm_fields": "sys_id,sys_mod_count",
        },
    )

    assert [r["sys_id"] for r in recent.json()["result"]] == [record["sys_id"]]
    assert since.json()["result"] == [{"sys_id": record["sys_id"], "sys_mod_count": "1"}]


async def test_concurrent_inserts_get_distinct_numbers(admin: httpx.AsyncClient) -> None:
    created = await asyncio.gather(*(create_case(admin, description=f"burst {i}") for i in range(20)))

    numbers = [r["number"] for r in created]
    assert len(set(numbers)) == 20
    listed = await admin.get(
        CASES, params={"sysparm_query": "descriptionSTARTSWITHburst ", "sysparm_fields": "number"}
    )
    assert sorted(r["number"] for r in listed.json()["result"]) == sorted(numbers)
